/** Stable, non-reversible names for secrets and request contents. */
import { createHash } from "node:crypto"

/** A short fingerprint of an API key: buckets and ledgers are keyed by it, never by the key. */
export const keyFingerprint = (apiKey: string | undefined): string =>
  apiKey === undefined || apiKey === ""
    ? "anonymous"
    : createHash("sha256").update(`tollgate:${apiKey}`).digest("hex").slice(0, 16)

/** JSON with object keys sorted, so equal values hash equally. */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_, v) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        )
      : v
  )

export const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex")
