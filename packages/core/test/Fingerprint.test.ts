/** Canonical JSON: object keys sorted at every depth, byte for byte what the plain definition gives (cache keys depend on it). */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { canonicalJson } from "../src/Fingerprint.ts"

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
