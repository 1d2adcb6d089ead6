import { expectedTokens, MAX_RUN, maxTokens } from "@tollgate/runner/plan/TokenEstimate"
import { countTokens } from "gpt-tokenizer/encoding/o200k_base"
import { describe, expect, it } from "vitest"

describe("token estimates", () => {
  it("ordinary text is counted by the tokenizer as is", () => {
    const text = "The quick brown fox jumps over the lazy dog. ".repeat(50)
    expect(expectedTokens(text)).toBe(countTokens(text))
    expect(expectedTokens("")).toBe(0)
  })

  it("a long run without whitespace is counted in pieces of MAX_RUN characters (linear, close to exact)", () => {
    const run = "abcdefgh".repeat(200) // 1,600 characters, one pre-token
    const text = `before ${run} after`
    const pieces = Array.from({ length: Math.ceil(run.length / MAX_RUN) }, (_, i) =>
      countTokens(run.slice(i * MAX_RUN, (i + 1) * MAX_RUN))
    )
    expect(expectedTokens(text)).toBe(
      countTokens("before ") + pieces.reduce((a, b) => a + b, 0) + countTokens(" after")
    )
    expect(Math.abs(expectedTokens(text) - countTokens(text))).toBeLessThanOrEqual(pieces.length)
  })

  it("the bound is the UTF-8 byte count, whatever the tokenizer", () => {
    expect(maxTokens("héllo")).toBe(6)
    expect(maxTokens("a".repeat(1000))).toBeGreaterThanOrEqual(expectedTokens("a".repeat(1000)))
  })
})
