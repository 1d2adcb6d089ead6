/** `pack: N`: the packed prompt and body, splitting a reply back into items, and how the plan counts packs. */
import { decodeReply } from "@tollgate/core/ChatReply"
import { Money } from "@tollgate/pricing"
import { halves, packBody, packedItems, packMaxTokens, packMessages } from "@tollgate/runner/dsl/PackRequest"
import { project } from "@tollgate/runner/plan/Project"
import { packCheck } from "@tollgate/runner/run/Reply"
import { describe, expect, it } from "vitest"
import { pipelineOf, projectInput } from "./support/Pipelines.ts"

const packed = (n: number, pack: number, step = "") => `version: 1
name: packed
inputs:
  xs: { type: array, default: [${Array.from({ length: n }, (_, i) => `"text ${i}"`).join(", ")}] }
steps:
  - id: label
    for_each: inputs.xs
    pack: ${pack}
    model: openai/gpt-4o-mini
    system: Label the text.
    prompt: "Text: {{ item }}"
    max_tokens: 10
${step}`

const JSON_STEP = `    output:
      format: json
      schema:
        type: object
        additionalProperties: false
        required: [label]
        properties: { label: { type: string, enum: [good, bad] } }
`

const reply = (content: string) => decodeReply({ choices: [{ message: { content } }] })
const item = (text: string) => [
  { role: "system" as const, content: "Label the text." },
  { role: "user" as const, content: `Text: ${text}` }
]

describe("the packed request", () => {
  const step = pipelineOf(packed(3, 3)).steps[0]!

  it("sends what every item shares once, and the rest as a numbered list a provider can split back", () => {
    const messages = packMessages(step, [item("a"), item("b\nsecond line"), item("c")])
    expect(messages).toHaveLength(2)
    expect(messages[0]).toEqual({ role: "system", content: "Label the text." })
    expect(messages[1]!.content).toMatch(/^Below are 3 separate requests/)
    expect(messages[1]!.content).toContain("exactly 3 answers")
    const body = packBody(step, messages, 3)
    expect(packedItems(body)).toEqual(["Text: a", "Text: b\nsecond line", "Text: c"])
    expect(packedItems({ messages: item("a") })).toBeUndefined()
  })

  it("asks for exactly N answers by schema, with max_tokens for N items and their JSON", () => {
    const body = packBody(step, packMessages(step, [item("a"), item("b")]), 2)
    expect(body.max_tokens).toBe(packMaxTokens(step, 2))
    expect(packMaxTokens(step, 2)).toBeGreaterThan(2 * step.maxTokens)
    const rf = body.response_format as {
      json_schema: { strict: boolean; schema: { properties: { answers: unknown } } }
    }
    expect(rf.json_schema.strict).toBe(true)
    expect(rf.json_schema.schema.properties.answers).toEqual({
      type: "array",
      items: { type: "string" },
      minItems: 2,
      maxItems: 2
    })
  })

  it("halves a pack the first half larger, down to single items", () => {
    expect(halves([1, 2, 3, 4, 5])).toEqual([
      [1, 2, 3],
      [4, 5]
    ])
    expect(halves([1, 2])).toEqual([[1], [2]])
  })
})

describe("splitting a packed reply", () => {
  it("text: one string per item, from {answers} or a bare array; the wrong count or a non-text answer fails", () => {
    const split = packCheck(pipelineOf(packed(3, 3)).steps[0]!)
    expect(split(reply('{"answers": ["x", "y", "z"]}'), 3)).toEqual(["x", "y", "z"])
    expect(split(reply('```json\n["x", 2, true]\n```'), 3)).toEqual(["x", "2", "true"])
    expect(split(reply('{"answers": ["x", "y"]}'), 3)).toBe("the packed reply has 2 answers for 3 requests")
    expect(split(reply('{"answers": ["x", {"a": 1}, "z"]}'), 3)).toBe(
      "answer 2 of the packed reply is not text"
    )
    expect(split(reply("x, y, z"), 3)).toBe("the packed reply is not valid JSON")
    expect(split(reply('{"result": ["x", "y", "z"]}'), 3)).toBe('the packed reply has no "answers" array')
  })

  it("JSON: each answer must match the step's schema", () => {
    const split = packCheck(pipelineOf(packed(2, 2, JSON_STEP)).steps[0]!)
    expect(split(reply('{"answers": [{"label": "good"}, {"label": "bad"}]}'), 2)).toEqual([
      { label: "good" },
      { label: "bad" }
    ])
    expect(split(reply('{"answers": [{"label": "good"}, {"label": "maybe"}]}'), 2)).toMatch(
      /^answer 2 of the packed reply does not match the schema/
    )
  })
})

describe("the plan of a packed step", () => {
  it("200 items in packs of 10 are 20 requests, each priced as the packed prompt", () => {
    const p = project(projectInput(packed(200, 10)))
    const s = p.steps[0]!
    expect(s.requests).toBe(20)
    expect(s.items).toBe(200)
    expect(p.requests.max).toBe(20)
    const unpacked = project(projectInput(packed(200, 1))).steps[0]!
    expect(unpacked.requests).toBe(200)
    // the bound holds every item's bytes, and the instructions each pack adds
    const itemBytes = Array.from({ length: 200 }, (_, i) => Buffer.byteLength(`Text: text ${i}`)).reduce(
      (a, b) => a + b
    )
    expect(s.tokens.prompt.max).toBeGreaterThan(itemBytes + 20 * 200)
    expect(s.tokens.prompt.expected).toBeLessThan(s.tokens.prompt.max)
    // the same expected completion per item
    expect(s.tokens.completion.expected).toBe(unpacked.tokens.completion.expected)
  })

  it("the bound counts every attempt of a pack whose replies do not split, then its halves, down to single items", () => {
    const one = project(projectInput(packed(2, 2))).steps[0]!
    // a pack of 2: 3 attempts of the pack, then each item alone (a text item: one attempt)
    expect(one.tokens.completion.max).toBe(3 * packMaxTokens(pipelineOf(packed(2, 2)).steps[0]!, 2) + 2 * 10)
    const single = project(projectInput(packed(1, 1))).steps[0]!
    // a pack of 2 at most costs more than three of its attempts alone
    expect(Money.gt(one.costMax, Money.times(single.costMax, 4))).toBe(true)
  })

  it("items from an upstream step each count their own output in a pack, though every stand-in reads alike", () => {
    const yaml = `version: 1
name: up
steps:
  - { id: list, model: openai/gpt-4o-mini, prompt: "list", max_tokens: 100, output: { format: json } }
  - id: each
    for_each: steps.list.output
    max_items: 20
    pack: 10
    model: openai/gpt-4o-mini
    prompt: "Summarize {{ item }}"
    max_tokens: 10
`
    const s = project(projectInput(yaml)).steps[1]!
    // 20 items, each up to the upstream's max_tokens (100): the bound holds every one of them
    expect(s.tokens.prompt.max).toBeGreaterThanOrEqual(20 * 100)
  })

  it("the context gate counts a pack's max_tokens: every item's at once", () => {
    const yaml = packed(100, 50).replace("max_tokens: 10", "max_tokens: 4000")
    const p = project(projectInput(yaml))
    const v = p.violations.find((x) => x.kind === "context_window")
    expect(v?.message).toMatch(/for a pack of 50: a smaller pack fits better/)
    expect(
      project(projectInput(packed(100, 1).replace("max_tokens: 10", "max_tokens: 4000"))).violations
    ).toEqual([])
  })

  it("a pack the cache holds is counted cached, by the packed request's key", () => {
    const yaml = packed(4, 2)
    const first = project(projectInput(yaml))
    expect(first.steps[0]!.cached).toBe(0)
    const step = pipelineOf(yaml).steps[0]!
    const key = JSON.stringify(
      packBody(step, packMessages(step, [item("text 0"), item("text 1")]), 2).messages
    )
    const again = project(projectInput(yaml, { cached: new Set([key]) }))
    expect(again.steps[0]!.cached).toBe(1)
    expect(again.requests.max).toBe(1)
  })
})
