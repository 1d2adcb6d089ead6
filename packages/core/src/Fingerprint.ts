/** Stable, non-reversible names for secrets and request contents. */
import { sha256 } from "@tollgate/core/Hash"

export { sha256 }

/** A short fingerprint of an API key: buckets and ledgers are keyed by it, never by the key. */
export const keyFingerprint = (apiKey: string | undefined): string =>
  apiKey === undefined || apiKey === "" ? "anonymous" : sha256(`tollgate:${apiKey}`).slice(0, 16)

/** A value with every object's keys in sorted order (after `toJSON`, as `JSON.stringify` sees it). */
const sorted = (v: unknown): unknown => {
  if (v === null || typeof v !== "object") return v
  const j =
    typeof (v as { toJSON?: unknown }).toJSON === "function" ? (v as { toJSON: () => unknown }).toJSON() : v
  if (j === null || typeof j !== "object") return j
  if (Array.isArray(j)) return j.map(sorted)
  const o = j as Record<string, unknown>
  // no prototype: a key named "__proto__" (JSON.parse makes one) stays an own property
  const out: Record<string, unknown> = Object.create(null)
  for (const k of Object.keys(o).sort()) out[k] = sorted(o[k])
  return out
}

/**
 * JSON with object keys sorted, so equal values hash equally. One walk that copies objects with
 * their keys sorted, then `JSON.stringify` (no replacer called on every value: a plan hashes
 * inputs of 100,000 rows with it).
 */
export const canonicalJson = (value: unknown): string => JSON.stringify(sorted(value))
