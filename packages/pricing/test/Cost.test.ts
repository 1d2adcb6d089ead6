import { describe, expect, it } from "vitest"
import { bundled } from "../../core/src/CatalogStore.ts"
import * as Catalog from "../src/Catalog.ts"
import * as Cost from "../src/Cost.ts"
import * as Money from "../src/Money.ts"

const catalog = bundled()
const model = (id: string) => catalog.resolveOrThrow(id).model
const noon = new Date("2026-11-23T12:00:00Z")
const total = (id: string, usage: Cost.Usage, at = noon) =>
  Money.toPlain(Cost.cost(model(id), usage, at).total)

describe("Cost.cost against hand-computed values from the bundled catalog", () => {
  it("claude-sonnet-4.6: 1,000 in + 500 out at $3/$15 per M is $0.0105 (the spec's example)", () => {
    const c = Cost.cost(
      model("anthropic/claude-sonnet-4.6"),
      { promptTokens: 1000, completionTokens: 500 },
      noon
    )
    expect(Money.toPlain(c.total)).toBe("0.0105")
    expect(Money.toPlain(c.breakdown.prompt)).toBe("0.003")
    expect(Money.toPlain(c.breakdown.completion)).toBe("0.0075")
  })

  it("gemini-2.5-flash: 8 in + 1,133 out at $0.30/$2.50 is $0.0028349 (the spec's real response)", () => {
    expect(total("google/gemini-2.5-flash", { promptTokens: 8, completionTokens: 1133 })).toBe("0.0028349")
  })

  it("a :free model costs exactly 0 whatever the tokens", () => {
    expect(total("openai/gpt-oss-20b:free", { promptTokens: 100_000, completionTokens: 50_000 })).toBe("0")
  })

  it("gpt-4o-mini: cached prompt tokens bill at input_cache_read", () => {
    // 6,000 × 0.00000015 + 4,000 × 0.000000075 + 1,000 × 0.0000006
    expect(
      total("openai/gpt-4o-mini", { promptTokens: 10_000, cachedTokens: 4_000, completionTokens: 1_000 })
    ).toBe("0.0018")
  })

  it("claude-haiku-4.5: cache writes bill at input_cache_write", () => {
    // 1,000 × 0.000001 + 2,000 × 0.00000125 + 100 × 0.000005
    expect(
      total("anthropic/claude-haiku-4.5", {
        promptTokens: 3000,
        cacheWriteTokens: 2000,
        completionTokens: 100
      })
    ).toBe("0.004")
  })

  it("sonar-deep-research: reasoning tokens at internal_reasoning, plus web searches", () => {
    // 2,000 × 0.000002 + 1,000 × 0.000008 + 2,000 × 0.000003 + 2 × 0.005
    const c = Cost.cost(
      model("perplexity/sonar-deep-research"),
      { promptTokens: 2000, completionTokens: 3000, reasoningTokens: 2000, webSearches: 2 },
      noon
    )
    expect(Money.toPlain(c.total)).toBe("0.028")
    expect(Money.toPlain(c.breakdown.reasoning)).toBe("0.006")
    expect(Money.toPlain(c.breakdown.web_search)).toBe("0.01")
  })

  it("reasoning tokens without an internal_reasoning price bill as completion", () => {
    const withReasoning = total("anthropic/claude-sonnet-4.6", {
      promptTokens: 0,
      completionTokens: 1000,
      reasoningTokens: 600
    })
    expect(withReasoning).toBe(
      total("anthropic/claude-sonnet-4.6", { promptTokens: 0, completionTokens: 1000 })
    )
    expect(withReasoning).toBe("0.015")
  })

  it("gemini-3.7-flash: a 22-decimal cache-write price stays exact", () => {
    // 12 × 0.0000000208333333333333 + 100 × 0.000001875
    expect(
      total("google/gemini-3.7-flash", { promptTokens: 12, cacheWriteTokens: 12, completionTokens: 100 })
    ).toBe("0.0001877499999999999996")
  })

  it("seed-2.0-code: the min_prompt_tokens override switches rates above the threshold", () => {
    expect(total("bytedance-seed/seed-2.0-code", { promptTokens: 100_000, completionTokens: 1000 })).toBe(
      "0.053"
    )
    expect(total("bytedance-seed/seed-2.0-code", { promptTokens: 130_000, completionTokens: 1000 })).toBe(
      "0.136"
    )
  })

  it("qwen3-max-thinking: the highest threshold reached applies", () => {
    expect(total("qwen/qwen3-max-thinking", { promptTokens: 40_000, completionTokens: 1000 })).toBe("0.0702")
    expect(total("qwen/qwen3-max-thinking", { promptTokens: 150_000, completionTokens: 1000 })).toBe(
      "0.30225"
    )
  })

  it("deepseek-v4-pro: time-of-day windows (UTC HHMM, wrapping midnight); worstCost takes the peak", () => {
    const usage = { promptTokens: 1000, completionTokens: 1000 }
    expect(total("deepseek/deepseek-v4-pro", usage, new Date("2026-11-23T02:00:00Z"))).toBe("0.00528")
    expect(total("deepseek/deepseek-v4-pro", usage, new Date("2026-11-23T12:00:00Z"))).toBe("0.00264")
    expect(total("deepseek/deepseek-v4-pro", usage, new Date("2026-11-23T00:30:00Z"))).toBe("0.00264")
    expect(Money.toPlain(Cost.worstCost(model("deepseek/deepseek-v4-pro"), usage).total)).toBe("0.00528")
  })

  it("a per-request fee is added once per request", () => {
    const m = Catalog.fromWire({
      id: "acme/fee",
      pricing: { prompt: "0.000001", completion: "0.000002", request: "0.005" }
    })
    expect(Money.toPlain(Cost.cost(m, { promptTokens: 100, completionTokens: 100 }, noon).total)).toBe(
      "0.0053"
    )
    expect(
      Money.toPlain(Cost.cost(m, { promptTokens: 0, completionTokens: 0, requests: 3 }, noon).total)
    ).toBe("0.015")
  })

  it("a routing variant is priced as its base model", () => {
    expect(total("anthropic/claude-sonnet-4.6:nitro", { promptTokens: 1000, completionTokens: 500 })).toBe(
      "0.0105"
    )
  })

  it(":online adds one web search per request: the model's own search price, else $0.02", () => {
    // claude-sonnet-4.6 lists web_search at $0.01; gpt-4o-mini lists none
    expect(total("anthropic/claude-sonnet-4.6:online", { promptTokens: 1000, completionTokens: 500 })).toBe(
      "0.0205"
    )
    expect(total("openai/gpt-4o-mini:online", { promptTokens: 0, completionTokens: 0 })).toBe("0.02")
    expect(catalog.resolveOrThrow("openai/gpt-4o-mini:online").note).toMatch(/one web search per request/)
  })

  it('a router priced "-1" is an unknown cost, never $0', () => {
    expect(() =>
      Cost.cost(model("openrouter/auto"), { promptTokens: 10, completionTokens: 10 }, noon)
    ).toThrow(Cost.UnknownPriceError)
  })

  it("rejects inconsistent usage", () => {
    const m = model("openai/gpt-4o-mini")
    expect(() => Cost.cost(m, { promptTokens: 10, completionTokens: 5, reasoningTokens: 6 }, noon)).toThrow(
      Cost.InvalidUsageError
    )
    expect(() => Cost.cost(m, { promptTokens: 10, cachedTokens: 11, completionTokens: 0 }, noon)).toThrow(
      Cost.InvalidUsageError
    )
    expect(() => Cost.cost(m, { promptTokens: -1, completionTokens: 0 }, noon)).toThrow(
      Cost.InvalidUsageError
    )
    expect(() => Cost.cost(m, { promptTokens: 1.5, completionTokens: 0 }, noon)).toThrow(
      Cost.InvalidUsageError
    )
  })
})

describe("Money", () => {
  it("1,000,000 requests of $0.0000001 sum to exactly $0.1", () => {
    const each = Money.usd("0.0000001")
    let acc = Money.zero
    for (let i = 0; i < 1_000_000; i++) acc = Money.add(acc, each)
    expect(Money.toPlain(acc)).toBe("0.1")
    expect(Money.eq(acc, Money.usd("0.1"))).toBe(true)
    // the float accumulator this replaces does not:
    let f = 0
    for (let i = 0; i < 1_000_000; i++) f += 0.0000001
    expect(f).not.toBe(0.1)
  })

  it("prints plain decimals, never exponents", () => {
    expect(Money.toPlain(Money.usd("0.0000000833333333333333"))).toBe("0.0000000833333333333333")
    expect(Money.toPlain(Money.times(Money.usd("0.000003"), 1_000_000))).toBe("3")
    expect(Money.toPlain(Money.usd("120"))).toBe("120")
    expect(Money.toPlain(Money.sub(Money.zero, Money.usd("0.5")))).toBe("-0.5")
    expect(Money.parse("1e-7")).toBeUndefined()
  })
})
