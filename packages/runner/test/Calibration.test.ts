/** What runs teach the plan: the tokenizer gap per model and reply lengths per step, shrunk while samples are few. */
import {
  addSamples,
  completionOf,
  emptyIndex,
  MAX_SAMPLES,
  promptRatio,
  type Sample,
  stepKey
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
  it("the prompt ratio is billed over expected, shrunk toward 1 with few requests; unknown models stay at 1", () => {
    const one = addSamples(emptyIndex, [sample()])
    // 1 request at 1.3 against 3 pseudo-requests at 1
    expect(promptRatio(one, "m")).toBeCloseTo((1.3 + 3) / 4)
    const many = addSamples(
      emptyIndex,
      Array.from({ length: 297 }, () => sample())
    )
    expect(promptRatio(many, "m")).toBeCloseTo((297 * 1.3 + 3) / 300)
    expect(promptRatio(many, "other")).toBe(1)
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
    const full = addSamples(
      emptyIndex,
      Array.from({ length: MAX_SAMPLES + 5 }, (_, i) => sample({ completionPerItem: i }))
    )
    const kept = full.steps[stepKey("p", "s", "m")]!.completion
    expect(kept).toHaveLength(MAX_SAMPLES)
    expect(kept[0]).toBe(5)
  })
})
