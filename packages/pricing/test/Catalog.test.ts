import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { bundled } from "../../core/src/CatalogStore.ts"
import * as Catalog from "../src/Catalog.ts"
import * as Money from "../src/Money.ts"

const older = JSON.parse(
  readFileSync(new URL("./fixtures/openrouter-models-2026-02-27-raw.json", import.meta.url), "utf8")
)
const source: Catalog.Source = { kind: "file", label: "test", date: "", location: "" }

describe("Catalog.decode", () => {
  it("decodes the whole bundled snapshot: 414 models, 17 :free, none skipped", () => {
    const c = bundled()
    expect(c.size).toBe(414)
    expect(c.issues).toEqual([])
    expect(c.models.filter((m) => m.id.endsWith(":free"))).toHaveLength(17)
    expect(c.source).toMatchObject({ kind: "bundled", date: "2026-08-19" })
  })

  it('decodes the older snapshot (zero prices listed as "0", a request key): 344 models', () => {
    const c = Catalog.decode(older, source)
    expect(c.size).toBe(344)
    expect(c.issues).toEqual([])
  })

  it("tolerates unknown fields and reports bad entries without losing the rest", () => {
    const c = Catalog.decode(
      {
        data: [
          { id: "a/ok", pricing: { prompt: "0.000001", completion: "0.000002" }, brand_new_field: { x: 1 } },
          { id: "a/bad-price", pricing: { prompt: "cheap" } },
          { pricing: {} },
          { id: "a/ok2", pricing: {} }
        ]
      },
      source
    )
    expect(c.models.map((m) => m.id)).toEqual(["a/ok", "a/ok2"])
    expect(c.issues.map((i) => [i.index, i.id])).toEqual([
      [1, "a/bad-price"],
      [2, undefined]
    ])
    expect(c.issues[0]!.message).toContain("prompt")
  })

  it("refuses a body that is not a models response", () => {
    expect(() => Catalog.decode({ models: [] }, source)).toThrow(Catalog.CatalogDecodeError)
    expect(() => Catalog.decode({ data: [{ nope: 1 }] }, source)).toThrow(/no usable model/)
  })

  it('a missing price key is 0; "-1" is unknown; missing cache prices fall back rather than read as 0', () => {
    const m = Catalog.fromWire({ id: "a/b", pricing: { prompt: "0.000001", completion: "-1" } })
    expect(Money.isZero(m.rates.request as Money.Usd)).toBe(true)
    expect(m.rates.completion).toBeNull()
    expect(m.rates.input_cache_read).toBeUndefined()
    expect(m.unknownPrice).toBe(true)
    expect(m.free).toBe(false)
  })

  it("free means :free in the id or every price 0", () => {
    const c = bundled()
    expect(c.get("openai/gpt-oss-20b:free")!.free).toBe(true)
    expect(c.get("openai/gpt-4o-mini")!.free).toBe(false)
    expect(c.get("openrouter/auto")!.free).toBe(false)
  })
})

describe("Catalog.resolve", () => {
  const c = bundled()

  it("a listed variant entry is priced as itself", () => {
    const r = c.resolveOrThrow("openai/gpt-oss-20b:free")
    expect(r.model.id).toBe("openai/gpt-oss-20b:free")
    expect(r.estimate).toBe(false)
    const batch = c.models.find((m) => m.id.endsWith(":batch"))!
    expect(c.resolveOrThrow(batch.id).model.id).toBe(batch.id)
  })

  it("routing variants (:nitro, :floor, :exacto, :online) take the base model's price, flagged as an estimate", () => {
    for (const v of ["nitro", "floor", "exacto", "online"]) {
      const r = c.resolveOrThrow(`anthropic/claude-sonnet-4.6:${v}`)
      expect(r.model.id).toBe("anthropic/claude-sonnet-4.6")
      expect(r.variant).toBe(v)
      expect(r.estimate).toBe(true)
    }
    expect(c.resolveOrThrow("anthropic/claude-sonnet-4.6:online").note).toMatch(/web search/)
  })

  it("an unknown suffix or model is unknown, with the nearest ids suggested", () => {
    expect(c.resolve("anthropic/claude-sonnet-4.6:turbo")).toBeUndefined()
    try {
      c.resolveOrThrow("anthropic/claude-sonet-4.6")
      expect.unreachable()
    } catch (e) {
      expect(e).toBeInstanceOf(Catalog.UnknownModelError)
      expect((e as Catalog.UnknownModelError).suggestions[0]).toBe("anthropic/claude-sonnet-4.6")
      expect((e as Error).message).toMatch(/did you mean "anthropic\/claude-sonnet-4.6"/)
    }
    expect(c.suggest("gpt-4o-mni")).toContain("openai/gpt-4o-mini")
  })

  it("search matches every word against id and name", () => {
    const hits = c.search("claude sonnet")
    expect(hits.length).toBeGreaterThan(1)
    expect(hits.every((m) => /claude/i.test(m.id + m.name) && /sonnet/i.test(m.id + m.name))).toBe(true)
  })
})
