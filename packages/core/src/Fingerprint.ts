/** Stable, non-reversible names for secrets and request contents. */
import { sha256 } from "@tollgate/core/Hash"

export { sha256 }

/** A short fingerprint of an API key: buckets and ledgers are keyed by it, never by the key. */
export const keyFingerprint = (apiKey: string | undefined): string =>
  apiKey === undefined || apiKey === "" ? "anonymous" : sha256(`tollgate:${apiKey}`).slice(0, 16)

/** JSON with object keys sorted, so equal values hash equally. */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_, v) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        )
      : v
  )
