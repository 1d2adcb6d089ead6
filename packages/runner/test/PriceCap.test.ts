import { CatalogStore } from "@tollgate/core"
import { maxPriceMemo, maxPriceOf } from "@tollgate/runner/run/PriceCap"
import fc from "fast-check"
import { describe, expect, it } from "vitest"

const catalog = CatalogStore.bundled()
const model = (id: string) => catalog.resolveOrThrow(id).model
/** Models whose prompt rate rises past a prompt size (128k, 200k, 32k tokens), with one that has no tiers. */
const lists = [
  ["x-ai/grok-4.6"],
  ["qwen/qwen3.7-flash", "bytedance-seed/seed-2.0-code"],
  ["openai/gpt-4o-mini", "x-ai/grok-4.6", "qwen/qwen3.7-flash"]
].map((ids) => ids.map(model))

describe("the price cap, remembered by tier", () => {
  it("the cap of each list rises with the prompt (else this tests nothing)", () => {
    for (const models of lists)
      expect(models.some((m) => m.overrides.some((o) => o.minPromptTokens !== undefined))).toBe(true)
  })

  it("property: equals the cap computed afresh, at every prompt size, in any order of sizes", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...lists),
        fc.array(
          fc.oneof(
            fc.integer({ min: 0, max: 400_000 }),
            fc.constantFrom(31_999, 32_000, 127_999, 128_000, 200_000)
          ),
          { minLength: 1, maxLength: 20 }
        ),
        (models, sizes) => {
          const memo = maxPriceMemo(models)
          for (const n of sizes) expect(memo(n)).toEqual(maxPriceOf(models, n))
        }
      ),
      { numRuns: 300 }
    )
  })
})
