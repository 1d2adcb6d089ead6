import { itemIndices, parseShard, stepRoles } from "@tollgate/runner/run/Shards"
import { describe, expect, it } from "vitest"
import { pipelineOf } from "./support/Pipelines.ts"

const PIPELINE = `version: 1
name: roles
inputs:
  xs: { type: array, default: [1, 2, 3] }
defaults: { model: openai/gpt-4o-mini, max_tokens: 5 }
steps:
  - { id: intro, prompt: "hello" }
  - { id: each, for_each: inputs.xs, prompt: "{{ item }} {{ steps.intro.output }}" }
  - { id: again, for_each: steps.each.outputs, prompt: "{{ item }}" }
  - { id: digest, prompt: "{{ steps.each.outputs | size }}" }
  - { id: after, prompt: "{{ steps.digest.output }}" }
`

describe("splitting a run", () => {
  it("fan-outs that read no split step are split; what reads them waits for the merge; the rest runs everywhere", () => {
    expect(Object.fromEntries(stepRoles(pipelineOf(PIPELINE)))).toEqual({
      intro: "every-shard",
      each: "split",
      again: "after-merge",
      digest: "after-merge",
      after: "after-merge"
    })
  })

  it("shard i of n sends the items whose index % n == i - 1; a merge or a whole run sends all", () => {
    const roles = stepRoles(pipelineOf(PIPELINE))
    const shard = (index: number) => ({ kind: "shard" as const, shard: { index, count: 3 }, roles })
    expect([1, 2, 3].map((i) => itemIndices(shard(i), "each", 8))).toEqual([
      [0, 3, 6],
      [1, 4, 7],
      [2, 5]
    ])
    expect(itemIndices(shard(2), "intro", 1)).toEqual([0])
    expect(itemIndices({ kind: "merge", count: 3, roles }, "each", 4)).toEqual([0, 1, 2, 3])
    expect(itemIndices(undefined, "each", 2)).toEqual([0, 1])
  })

  it("--shard is i/n with 1 <= i <= n", () => {
    expect(parseShard("2/4")).toEqual({ index: 2, count: 4 })
    expect(parseShard("0/4")).toBe("--shard 0/4: i must be between 1 and 4")
    expect(parseShard("two")).toBe("--shard two: expected i/n, e.g. 2/4")
  })
})
