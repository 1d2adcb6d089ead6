import { CatalogStore } from "@tollgate/core"
import * as Money from "@tollgate/pricing/Money"
import { worstRequestCostMemo } from "@tollgate/runner/plan/StepPricing"
import fc from "fast-check"
import { describe, expect, it } from "vitest"

const catalog = CatalogStore.bundled()
const models = ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4"].map(
  (id) => catalog.resolveOrThrow(id).model
)

describe("a step's worst request cost, remembered by size", () => {
  it("each answer is the one worked out afresh, whatever was asked before (property)", () => {
    const request = fc.record({
      contents: fc.array(fc.string({ maxLength: 300, unit: "binary" }), { minLength: 1, maxLength: 3 }),
      maxTokens: fc.oneof(fc.integer({ min: 1, max: 5_000 }), fc.constant(2 ** 26))
    })
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 60 }), (requests) => {
        const remembered = worstRequestCostMemo(models)
        for (const r of [...requests, ...requests]) {
          const messages = r.contents.map((content) => ({ role: "user" as const, content }))
          const fresh = worstRequestCostMemo(models)(messages, r.maxTokens)
          expect(Money.toPlain(remembered(messages, r.maxTokens))).toBe(Money.toPlain(fresh))
        }
      }),
      { numRuns: 200 }
    )
  })

  it("a longer prompt or a higher max_tokens never costs less at worst", () => {
    const worst = worstRequestCostMemo(models)
    const short = worst([{ role: "user", content: "hi" }], 100)
    expect(Money.lt(short, worst([{ role: "user", content: "hi there" }], 100))).toBe(true)
    expect(Money.lt(short, worst([{ role: "user", content: "hi" }], 101))).toBe(true)
  })
})
