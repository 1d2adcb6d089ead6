/** Canonical JSON: object keys sorted at every depth, byte for byte what the plain definition gives (cache keys depend on it). */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { canonicalJson, sha256 } from "../src/Fingerprint.ts"
import { cacheKey } from "../src/ResponseCache.ts"

/** The definition: JSON.stringify with a replacer that sorts each object's keys. */
const reference = (value: unknown): string =>
  JSON.stringify(value, (_, v) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        )
      : v
  )

describe("canonicalJson", () => {
  it("property: equal to the definition on any JSON-like value (dates, sparse arrays, undefined, __proto__ keys)", () => {
    fc.assert(
      fc.property(
        fc.anything({
          withDate: true,
          withSparseArray: true,
          withMap: false,
          withSet: false,
          withBigInt: false,
          withTypedArray: false
        }),
        (v) => canonicalJson(v) === reference(v)
      ),
      { numRuns: 5000 }
    )
  })

  it("sorts keys at every depth; a __proto__ key from JSON.parse stays a key", () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[{"y":2,"z":1}]},"b":1}'
    )
    expect(canonicalJson(JSON.parse('{"__proto__": {"x": 1}, "a": 2}'))).toBe('{"__proto__":{"x":1},"a":2}')
  })
})

describe("cacheKey (a request's key in the cache and in a run's records)", () => {
  it("is the key earlier runners wrote: their records resume and their cache hits under it", () => {
    const body = {
      model: "openai/gpt-4o-mini",
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: "Summarize: item 7" }
      ],
      max_tokens: 200,
      usage: { include: true },
      stream: false
    }
    expect(cacheKey("https://openrouter.ai/api/v1/", body)).toBe(
      "5a842e8ed5f71aa8a83a854a79e02c430fa1e0f71e56e9eb5113479839844b33"
    )
  })

  it("property: the digest of the definition, whatever the body (usage, stream and user left out)", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.webUrl(), (body, url) => {
        const semantic = Object.fromEntries(
          Object.entries(body).filter(([k]) => k !== "usage" && k !== "stream" && k !== "user")
        )
        const definition = sha256(reference({ v: 1, base_url: url.replace(/\/+$/, ""), body: semantic }))
        expect(cacheKey(url, body)).toBe(definition)
      })
    )
  })
})
