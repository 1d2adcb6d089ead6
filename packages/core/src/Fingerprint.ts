/** Stable, non-reversible names for secrets and request contents. */
import { sha256 } from "@tollgate/core/Hash"

export { sha256 }

/** A short fingerprint of an API key: buckets and ledgers are keyed by it, never by the key. */
export const keyFingerprint = (apiKey: string | undefined): string =>
  apiKey === undefined || apiKey === "" ? "anonymous" : sha256(`tollgate:${apiKey}`).slice(0, 16)

/** `JSON.stringify` of a value that is not an object or array (undefined where it would drop it). */
const scalar = (v: unknown, inArray: boolean): string | undefined => {
  if (typeof v === "undefined" || typeof v === "function" || typeof v === "symbol")
    return inArray ? "null" : undefined
  return JSON.stringify(v)
}

/** An array index as a key ("0", "17"): JavaScript lists such keys first, in numeric order. */
const isIndex = (k: string): boolean => {
  const c = k.charCodeAt(0)
  return c >= 48 && c <= 57 && /^(?:0|[1-9]\d*)$/.test(k) && Number(k) < 4_294_967_295
}

/**
 * `keys` sorted in place as `sort()` sorts strings (by UTF-16 code units): by insertion for the few
 * keys a request's objects have, which allocates nothing (`sort()` allocated a work area each time).
 */
const sortInPlace = (keys: string[]): string[] => {
  if (keys.length > 16) return keys.sort()
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i]!
    let j = i - 1
    for (; j >= 0 && keys[j]! > k; j--) keys[j + 1] = keys[j]!
    keys[j + 1] = k
  }
  return keys
}

/** A key as JSON (`"role"`), kept for the keys that come back in every request. */
const quotedKeys = new Map<string, string>()
const quoted = (k: string): string => {
  let q = quotedKeys.get(k)
  if (q === undefined) {
    q = JSON.stringify(k)
    if (quotedKeys.size < 1024) quotedKeys.set(k, q)
  }
  return q
}

/**
 * An object's keys sorted, in the order an object built with them in that order lists them (as
 * `JSON.stringify` of a sorted copy would): index keys first, numerically, then the rest sorted.
 */
const sortedKeys = (o: object): string[] => {
  const keys = Object.keys(o)
  // index keys are listed first: when the first is not one, none is
  if (keys.length === 0 || !isIndex(keys[0]!)) return sortInPlace(keys)
  const index = keys.filter(isIndex)
  return [...index, ...sortInPlace(keys.filter((k) => !isIndex(k)))]
}

/** One value's canonical JSON, or undefined where `JSON.stringify` would leave the property out. */
const canonical = (v: unknown, inArray: boolean): string | undefined => {
  if (v === null || typeof v !== "object") return scalar(v, inArray)
  const j =
    typeof (v as { toJSON?: unknown }).toJSON === "function" ? (v as { toJSON: () => unknown }).toJSON() : v
  if (j === null || typeof j !== "object") return scalar(j, inArray)
  if (Array.isArray(j)) {
    let out = "["
    for (let i = 0; i < j.length; i++) out += `${i > 0 ? "," : ""}${canonical(j[i], true)}`
    return `${out}]`
  }
  const o = j as Record<string, unknown>
  let out = ""
  for (const k of sortedKeys(o)) {
    const part = canonical(o[k], false)
    if (part !== undefined) out += `${out === "" ? "" : ","}${quoted(k)}:${part}`
  }
  return `{${out}}`
}

/**
 * JSON with object keys sorted, so equal values hash equally: written in one walk, with no sorted
 * copy of the value made first (a run computes one per request; a plan over 100,000 rows).
 */
export const canonicalJson = (value: unknown): string => canonical(value, false) as string
