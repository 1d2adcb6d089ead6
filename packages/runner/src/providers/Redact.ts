/**
 * Removing a secret from text an endpoint sent back before anything prints, logs or records it:
 * the key as written, in any letter case, JSON-escaped, base64 (plain and URL-safe, alone or as
 * `Bearer <key>`), and any run of 12 or more of its leading characters (a quoted prefix).
 */

import * as Redacted from "effect/Redacted"

const MIN_PREFIX = 12

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** The encoded forms a careless endpoint may echo the key in. */
const encodings = (secret: string): string[] => {
  const forms = [secret, `Bearer ${secret}`].flatMap((s) => {
    const b64 = Buffer.from(s, "utf8").toString("base64")
    return [b64.replace(/=+$/, ""), b64.replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_")]
  })
  const escaped = JSON.stringify(secret).slice(1, -1)
  return [...new Set([...forms, ...(escaped !== secret ? [escaped] : [])])]
}

/**
 * Every leading run of the key (12 characters or more, any case) wherever it stands, as spans of
 * `text` itself (found in it, not in a lower-cased copy, whose length may differ: "İ" lower-cases
 * to two characters), overlapping runs joined into one.
 */
const prefixRuns = (text: string, secret: string): Array<readonly [number, number]> => {
  const spans: Array<[number, number]> = []
  const lowerSecret = secret.toLowerCase()
  const head = new RegExp(escapeRegExp(secret.slice(0, MIN_PREFIX)), "gi")
  for (let m = head.exec(text); m !== null; m = head.exec(text)) {
    const at = m.index
    let n = MIN_PREFIX
    while (n < lowerSecret.length && text[at + n]?.toLowerCase() === lowerSecret[n]) n++
    const last = spans[spans.length - 1]
    if (last !== undefined && at <= last[1]) last[1] = Math.max(last[1], at + n)
    else spans.push([at, at + n])
    head.lastIndex = at + 1
  }
  return spans
}

/** One pattern for the key as written and every encoded form of it (longest first), built once per secret. */
const patterns = new Map<string, RegExp>()
const patternOf = (secret: string): RegExp => {
  let p = patterns.get(secret)
  if (p === undefined) {
    const forms = [...new Set([secret, ...encodings(secret)])].sort((a, b) => b.length - a.length)
    p = new RegExp(forms.map(escapeRegExp).join("|"), "gi")
    patterns.set(secret, p)
  }
  return p
}

/**
 * The first characters of every form, as one case-blind pattern: a text holding none of them holds
 * no form of the key and no leading run of it, so it needs no search (most replies). It matches as
 * the searches do (case-blind, not Unicode-aware), so it finds whatever they would. Only for a key
 * of printable ASCII; any other key is always searched.
 */
const headsByKey = new Map<string, RegExp | undefined>()
const headsOf = (secret: string): RegExp | undefined => {
  if (headsByKey.has(secret)) return headsByKey.get(secret)
  const heads = /^[\x20-\x7e]+$/.test(secret)
    ? new RegExp(
        [...new Set([secret, ...encodings(secret)].map((f) => f.slice(0, MIN_PREFIX)))]
          .map(escapeRegExp)
          .join("|"),
        "i"
      )
    : undefined
  headsByKey.set(secret, heads)
  return heads
}

const mayHold = (text: string, secret: string): boolean => headsOf(secret)?.test(text) ?? true

/** `text` with every copy of `secret` replaced by `[redacted]`. */
export const redact = (text: string, key: Redacted.Redacted<string> | string | undefined): string => {
  const secret = key === undefined || typeof key === "string" ? key : Redacted.value(key)
  if (secret === undefined || secret.length < 4 || !mayHold(text, secret)) return text
  let out = text.replace(patternOf(secret), "[redacted]")
  if (secret.length < MIN_PREFIX) return out
  const spans = prefixRuns(out, secret)
  for (const [from, to] of spans.reverse()) out = `${out.slice(0, from)}[redacted]${out.slice(to)}`
  return out
}
