/** What runs teach the plan: the tokenizer gap per model and reply lengths per step, shrunk while samples are few. */
import {
  addSamples,
  completionOf,
  emptyIndex,
  MAX_SAMPLES,
  PRIOR_PROMPT_TOKENS,
  promptRatio,
  type Sample,
  stepKey,
  withSettled
} from "@tollgate/runner/plan/Calibration"
import { describe, expect, it } from "vitest"

const sample = (over: Partial<Sample> = {}): Sample => ({
  pipeline: "p",
  step: "s",
  model: "m",
  expectedPrompt: 100,
  billedPrompt: 130,
  completionPerItem: 40,
  items: 1,
  ...over
})

describe("calibration", () => {
  it("the prompt ratio is billed over expected, weighed by the tokens observed (not requests); unknown models stay at 1", () => {
    const K = PRIOR_PROMPT_TOKENS
    const one = addSamples(emptyIndex, [sample()])
    // 100 tokens of evidence at 1.3 against K pseudo-tokens at 1
    expect(promptRatio(one, "m")).toBeCloseTo((130 + K) / (100 + K))
    // one large request is strong evidence: 6,820 expected, 8,998 billed lands within 5% of the bill
    const large = addSamples(emptyIndex, [sample({ expectedPrompt: 6_820, billedPrompt: 8_998 })])
    expect(Math.abs(promptRatio(large, "m") * 6_820 - 8_998) / 8_998).toBeLessThan(0.05)
    // many small requests weigh what their tokens weigh
    const many = addSamples(
      emptyIndex,
      Array.from({ length: 90 }, () => sample())
    )
    expect(promptRatio(many, "m")).toBeCloseTo((90 * 130 + K) / (90 * 100 + K))
    expect(promptRatio(many, "other")).toBe(1)
  })

  it("a step's own prompt gap wins over its model's as its evidence grows", () => {
    const key = stepKey("p", "digest", "m")
    const index = addSamples(emptyIndex, [
      // the model's other step: tokenizer close to the bill
      ...Array.from({ length: 40 }, () => sample({ step: "fan", expectedPrompt: 300, billedPrompt: 309 })),
      // this step: a long prompt billed 32% over our count
      sample({ step: "digest", expectedPrompt: 6_820, billedPrompt: 8_998 })
    ])
    const model = promptRatio(index, "m")
    expect(model).toBeLessThan(1.15)
    const own = promptRatio(index, "m", key)
    expect(Math.abs(own * 6_820 - 8_998) / 8_998).toBeLessThan(0.05)
    // a step without history of its own takes the model's
    expect(promptRatio(index, "m", stepKey("p", "new", "m"))).toBe(model)
  })

  it("replies cut off at max_tokens are censored: the step is expected near its cap", () => {
    const key = stepKey("p", "s", "m")
    // one reply that hit the 600 cap: expected stays at the cap, not near half of it
    const capped = completionOf(
      addSamples(emptyIndex, [sample({ completionPerItem: 600, capped: true })]),
      key,
      600
    )
    expect(capped.expected).toBe(600)
    expect(capped.p90).toBe(600)
    // the same length not capped (max_tokens 1,200) is mostly the default still
    const free = completionOf(addSamples(emptyIndex, [sample({ completionPerItem: 600 })]), key, 1_200)
    expect(free.expected).toBe(Math.round((600 + 3 * 600) / 4))
    // half capped: the default moves three quarters of the way to the cap
    const half = addSamples(emptyIndex, [
      sample({ completionPerItem: 100, capped: true }),
      sample({ completionPerItem: 40 })
    ])
    expect(completionOf(half, key, 100).expected).toBe(Math.round((2 * 70 + 3 * 75) / 5))
  })

  it("settled bills name the native prompt count: it replaces the reply's", () => {
    const samples = withSettled(
      [sample({ generationId: "g1", billedPrompt: 130 }), sample({ generationId: "g2" }), sample()],
      [{ generation_id: "g1", native_tokens_prompt: 150 }, { generation_id: "g2" }]
    )
    expect(samples.map((s) => s.billedPrompt)).toEqual([150, 130, 130])
  })

  it("completion: the mean and p90 per item, shrunk toward half of max_tokens and max_tokens", () => {
    const key = stepKey("p", "s", "m")
    expect(completionOf(emptyIndex, key, 100)).toEqual({ expected: 50, p90: 100, samples: 0 })
    // one sample of 10 is mostly the default
    const one = completionOf(addSamples(emptyIndex, [sample({ completionPerItem: 10 })]), key, 100)
    expect(one.expected).toBe(Math.round((10 + 3 * 50) / 4))
    // 100 samples 1..100: mean 50.5, p90 90
    const spread = addSamples(
      emptyIndex,
      Array.from({ length: 100 }, (_, i) => sample({ completionPerItem: i + 1 }))
    )
    const c = completionOf(spread, key, 200)
    expect(c.expected).toBe(Math.round((100 * 50.5 + 3 * 100) / 103))
    expect(c.p90).toBe(Math.round((100 * 90 + 3 * 200) / 103))
    expect(c.samples).toBe(100)
  })

  it("a pack's reply counts once per item; only the newest samples are kept", () => {
    const packed = addSamples(emptyIndex, [sample({ items: 10, completionPerItem: 12 })])
    expect(packed.steps[stepKey("p", "s", "m")]!.completion).toHaveLength(10)
    expect(packed.models.m).toEqual({ billed: 130, expected: 100, requests: 1 })
    expect(packed.steps[stepKey("p", "s", "m")]!.prompt).toEqual({ billed: 130, expected: 100 })
    const full = addSamples(
      emptyIndex,
      Array.from({ length: MAX_SAMPLES + 5 }, (_, i) => sample({ completionPerItem: i }))
    )
    const kept = full.steps[stepKey("p", "s", "m")]!.completion
    expect(kept).toHaveLength(MAX_SAMPLES)
    expect(kept[0]).toBe(5)
  })
})
