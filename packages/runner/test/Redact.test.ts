/** What an endpoint echoes of the key is removed in every form a careless endpoint uses. */
import { redact } from "@tollgate/runner/providers/Redact"
import fc from "fast-check"
import { describe, expect, it } from "vitest"

const KEY = "sk-or-v1-0123456789abcdefSECRET"
const b64 = (s: string) => Buffer.from(s).toString("base64")

describe("redact", () => {
  it.each([
    ["as written", `bad key ${KEY}.`],
    ["upper case", `BAD KEY ${KEY.toUpperCase()}`],
    ["lower case", `bad key ${KEY.toLowerCase()}`],
    ["base64", `token=${b64(KEY)}`],
    [
      "base64 without padding, URL-safe",
      `token=${b64(KEY).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_")}`
    ],
    ["base64 of the Authorization value", `auth=${b64(`Bearer ${KEY}`)}`],
    ["a prefix of 20 characters", `key starts ${KEY.slice(0, 20)}…`],
    ["JSON-escaped", JSON.stringify({ k: KEY })]
  ])("%s", (_, text) => {
    const out = redact(text, KEY)
    expect(out).toContain("[redacted]")
    expect(out.toLowerCase()).not.toContain(KEY.slice(9, 21).toLowerCase())
    expect(out).not.toContain(b64(KEY).slice(4, 24))
  })

  it("finds any key's every form, in any case, wherever the text holds it, whatever stands around it", () => {
    const keyChar = fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
    // text around the key: punctuation, and characters whose lower case is longer ("İ") or ASCII (the Kelvin sign, "\u212A")
    const noise = fc.string({
      unit: fc.constantFrom(..."~!<> \n", "İ", "İ", "İ", "ß", "\u212A", "€", "😀"),
      maxLength: 40
    })
    const forms = (k: string, cut: number) => [
      k,
      k.slice(0, 12 + cut),
      b64(k),
      b64(`Bearer ${k}`),
      b64(k).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_")
    ]
    // none of the key's characters, nor base64's, is in the text around it: any left is a leak
    const leftOf = (out: string) => out.replaceAll("[redacted]", "").replace(/[^A-Za-z0-9_\-+/]/g, "")
    fc.assert(
      fc.property(
        fc.string({ unit: keyChar, minLength: 12, maxLength: 48 }),
        noise,
        noise,
        fc.nat(4),
        fc.nat(36),
        fc.boolean(),
        (key, before, after, which, cut, upper) => {
          const form = forms(key, cut)[which]!
          const shown = upper ? form.toUpperCase() : form
          const out = redact(`${before}${shown}${after}`, key)
          expect(out).toContain("[redacted]")
          expect(leftOf(out)).toBe("")
          expect(redact(`${before}${after}`, key)).toBe(`${before}${after}`)
        }
      )
    )
  })

  it("a short key (4 to 11 characters) as written, in any case", () => {
    expect(redact("x abcd1234 y ABCD1234.", "abcd1234")).toBe("x [redacted] y [redacted].")
  })

  it("leaves text alone that shares only the public prefix", () => {
    expect(redact("models: sk-or-v1-xyz and more", KEY)).toBe("models: sk-or-v1-xyz and more")
  })
})

describe("a key is Redacted from the environment to the wire", () => {
  it("printed, logged or serialized by mistake it shows no text; only the Authorization header reads it", async () => {
    const { bearer, keyFor, keyVariablesOf } = await import("@tollgate/runner/providers/KeyRoute")
    const { inspect } = await import("node:util")
    const key = keyFor(
      keyVariablesOf({ OPENROUTER_API_KEY: "sk-or-v1-0123456789abcdef" }),
      "OPENROUTER_API_KEY",
      "https://openrouter.ai/api/v1",
      false
    )!
    for (const shown of [String(key), JSON.stringify({ key }), inspect(key), `${key}`])
      expect(shown).not.toContain("0123456789abcdef")
    expect(bearer(key)).toEqual({ authorization: "Bearer sk-or-v1-0123456789abcdef" })
    // a host only the pipeline names gets no key at all
    expect(
      keyFor(
        keyVariablesOf({ OPENROUTER_API_KEY: "sk-or-v1-0123456789abcdef" }),
        "OPENROUTER_API_KEY",
        "http://elsewhere.test",
        false
      )
    ).toBeUndefined()
  })
})

describe("a reply as the provider hands it on", () => {
  it("headers by lower-case name; a header quoting the key, in any form, loses it; the others stand as sent", async () => {
    const { outcomeOf } = await import("@tollgate/runner/providers/HttpProvider")
    const { make } = await import("effect/Redacted")
    const secret = make(KEY)
    const raw = {
      "X-RateLimit-Limit": "20",
      "x-echo": `Bearer ${KEY}`,
      "x-b64": b64(KEY),
      "set-cookie": ["a", "b"],
      date: "Sat, 05 Dec 2026 04:00:00 GMT"
    }
    const o = outcomeOf(200, raw, '{"id":"gen-1"}', secret)
    expect(o._tag).toBe("Response")
    if (o._tag !== "Response") return
    expect(o.headers).toEqual({
      "x-ratelimit-limit": "20",
      "x-echo": "Bearer [redacted]",
      "x-b64": expect.stringMatching(/^\[redacted\]=*$/),
      date: "Sat, 05 Dec 2026 04:00:00 GMT"
    })
    const clean = outcomeOf(200, { "X-A": "1", "x-b": "two" }, "{}", secret)
    expect(clean._tag === "Response" && clean.headers).toEqual({ "x-a": "1", "x-b": "two" })
  })

  it("the body's text is handed on (for the cache to store as is) only when it is the body, the key gone", async () => {
    const { outcomeOf } = await import("@tollgate/runner/providers/HttpProvider")
    const { make } = await import("effect/Redacted")
    const secret = make(KEY)
    const plain = outcomeOf(200, {}, `{"id":"gen-1","echo":"${KEY}"}`, secret)
    if (plain._tag !== "Response") throw new Error("not a response")
    expect(plain.text).toBeDefined()
    expect(plain.text).not.toContain(KEY.slice(9))
    expect(JSON.parse(plain.text!)).toEqual(plain.body)
    // an escape can spell the key out of the text's sight: the body is redacted as values, and no text goes on
    const spelled = [...KEY].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("")
    const escaped = outcomeOf(200, {}, `{"id":"gen-1","echo":"${spelled}"}`, secret)
    if (escaped._tag !== "Response") throw new Error("not a response")
    expect(escaped.text).toBeUndefined()
    expect(JSON.stringify(escaped.body)).not.toContain(KEY.slice(9))
  })
})
