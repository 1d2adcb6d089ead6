/** A fan-out step's counts remembered by what decides its texts, and replayed only when nothing else could change them. */
import { project } from "@tollgate/runner/plan/Project"
import * as StepCounts from "@tollgate/runner/plan/StepCounts"
import { expectedTokens } from "@tollgate/runner/plan/TokenEstimate"
import * as TokenMemo from "@tollgate/runner/plan/TokenMemo"
import type { MemoStore } from "@tollgate/runner/store/TokenMemoStore"
import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import { projectInput } from "./support/Pipelines.ts"

/** A memo store in memory: what one plan saved, the next one reads. */
const memoryStore = (): MemoStore => {
  let records = new Int32Array(0)
  const join = (more: Int32Array) => {
    const all = new Int32Array(records.length + more.length)
    all.set(records)
    all.set(more, records.length)
    return all
  }
  return {
    read: Effect.sync(() => ({ records, whole: true })),
    append: (more) =>
      Effect.sync(() => {
        records = join(more)
      }),
    replace: (all) =>
      Effect.sync(() => {
        records = all.slice()
      })
  }
}

/** Plans `yaml` over `store`'s memo; returns the projection and the texts it had to look up. */
const planWith = (store: MemoStore, yaml: string, inputsDigest = "inputs-1", cached = new Set<string>()) => {
  const memo = Effect.runSync(TokenMemo.open(store))
  const looked: string[] = []
  const projection = project(
    projectInput(yaml, {
      tokens: (text) => {
        looked.push(text)
        return memo.expected(text)
      },
      stepCounts: { series: memo.series, inputsDigest },
      cached
    })
  )
  Effect.runSync(memo.save)
  return { projection, looked }
}

const fan = (prompt: string, extra = "") => `version: 1
name: fan
inputs:
  xs: { type: array, default: [${Array.from({ length: 40 }, (_, i) => `"row ${i} ${"word ".repeat(i % 7)}"`).join(", ")}] }
steps:
  - id: a
    for_each: inputs.xs
    model: openai/gpt-4o-mini
    system: You are terse.
    prompt: ${JSON.stringify(prompt)}
    max_tokens: 20${extra}
`

describe("a fan-out step's remembered counts", () => {
  it("the next plan of the same step and inputs renders and looks up nothing, and projects the same", () => {
    const store = memoryStore()
    const first = planWith(store, fan("Summarize: {{ item }}"))
    expect(first.looked.length).toBe(80) // each item's prompt and the system prompt
    const second = planWith(store, fan("Summarize: {{ item }}"))
    expect(second.looked).toEqual([])
    expect(second.projection).toEqual(first.projection)
    expect(first.projection.steps[0]!.tokens.prompt.expected).toBe(
      40 * (3 + 4 + expectedTokens("You are terse.") + 4) +
        Array.from({ length: 40 }, (_, i) =>
          expectedTokens(`Summarize: row ${i} ${"word ".repeat(i % 7)}`)
        ).reduce((a, b) => a + b)
    )
  })

  it.each([
    ["other inputs (another data file's hash)", fan("Summarize: {{ item }}"), "inputs-2"],
    ["another prompt", fan("Condense: {{ item }}"), "inputs-1"]
  ])("%s: counted again", (_, yaml, digest) => {
    const store = memoryStore()
    planWith(store, fan("Summarize: {{ item }}"))
    expect(planWith(store, yaml, digest).looked.length).toBe(80)
  })

  it.each([
    ["a prompt that reads the clock", fan('{{ "now" | date: "%Y" }} {{ item }}')],
    ['a prompt that formats a date (a row\'s "today" moves it)', fan('{{ item | date: "%Y" }} {{ item }}')],
    ["a packed step", fan("Summarize: {{ item }}", "\n    pack: 4")]
  ])("%s is never remembered: every plan renders it", (_, yaml) => {
    const store = memoryStore()
    const first = planWith(store, yaml)
    const second = planWith(store, yaml)
    expect(first.looked.length).toBeGreaterThan(0)
    expect(second.looked.length).toBe(first.looked.length)
    expect(second.projection).toEqual(first.projection)
  })

  it("when the cache may hold a request, each is rendered and looked up there", () => {
    const store = memoryStore()
    planWith(store, fan("Summarize: {{ item }}"))
    const withCache = planWith(store, fan("Summarize: {{ item }}"), "inputs-1", new Set(["a key not sent"]))
    expect(withCache.looked.length).toBe(80)
  })

  it("a request too large to pack into one number is counted each time, and so is its step", () => {
    const store = memoryStore()
    const big = fan(`{{ item }} ${"long text ".repeat(7000)}`)
    planWith(store, big)
    expect(planWith(store, big).looked.length).toBe(80)
  })

  it("packs and unpacks a request's expected tokens and bound; refuses what does not fit", () => {
    for (const [e, m] of [
      [0, 0],
      [1, 17],
      [32_767, 65_535],
      [1234, 4321]
    ] as const)
      expect(StepCounts.unpack(StepCounts.pack(e, m)!)).toEqual({ expected: e, max: m })
    expect(StepCounts.pack(32_768, 40_000)).toBeUndefined()
    expect(StepCounts.pack(10, 65_536)).toBeUndefined()
  })
})
