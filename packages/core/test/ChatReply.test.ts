import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { ChoiceSchema, decodeReply, UsageSchema } from "../src/ChatReply.ts"

/** What the runner reads of a choice: its message (absent, null, or its content) and its finish reason. */
const choiceView = (c: typeof ChoiceSchema.Type | undefined) =>
  c === undefined
    ? "no choice"
    : {
        message:
          c.message === undefined ? "absent" : c.message === null ? null : { content: c.message.content },
        finish: c.finish_reason === undefined ? "absent" : c.finish_reason
      }

/** The usage as `decodeReply` gives it, from the Schema's decoding alone. */
const usageBySchema = (u: unknown) => {
  const d = Option.getOrUndefined(Schema.decodeUnknownOption(UsageSchema)(u))
  if (d === undefined) return undefined
  const cost = d.cost
  return {
    promptTokens: d.prompt_tokens ?? 0,
    completionTokens: d.completion_tokens ?? 0,
    reasoningTokens: d.completion_tokens_details?.reasoning_tokens ?? 0,
    cachedTokens: d.prompt_tokens_details?.cached_tokens ?? 0,
    cost: typeof cost === "number" && Number.isFinite(cost) && cost >= 0 ? cost : undefined
  }
}

const odd = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.string(),
  fc.double(),
  fc.integer({ min: -5, max: 5 }),
  fc.boolean(),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.constant({})
)
const count = fc.oneof(fc.nat(), fc.double({ min: 0, max: 1e6, noNaN: true }), odd)
const details = (key: string) => fc.oneof(odd, fc.record({ [key]: count, extra: odd }, { requiredKeys: [] }))
const usage = fc.oneof(
  odd,
  fc.record(
    {
      prompt_tokens: count,
      completion_tokens: count,
      cost: count,
      prompt_tokens_details: details("cached_tokens"),
      completion_tokens_details: details("reasoning_tokens"),
      total_tokens: count
    },
    { requiredKeys: [] }
  )
)
const choice = fc.oneof(
  odd,
  fc.record(
    {
      index: odd,
      message: fc.oneof(odd, fc.record({ role: odd, content: odd }, { requiredKeys: [] })),
      finish_reason: fc.oneof(odd, fc.constantFrom("stop", "length", "content_filter"))
    },
    { requiredKeys: [] }
  )
)

describe("a reply read by hand where its shape is plain, by the Schema otherwise", () => {
  it("reads every choice as the Schema alone would (property)", () => {
    fc.assert(
      fc.property(choice, (c) => {
        const bySchema = Option.getOrUndefined(Schema.decodeUnknownOption(ChoiceSchema)(c))
        expect(choiceView(decodeReply({ choices: [c] }).choice)).toEqual(choiceView(bySchema))
      }),
      { numRuns: 2_000 }
    )
  })

  it("reads every usage as the Schema alone would (property)", () => {
    fc.assert(
      fc.property(usage, (u) => {
        expect(decodeReply({ usage: u }).usage).toEqual(usageBySchema(u))
      }),
      { numRuns: 2_000 }
    )
  })

  it("a key there holding undefined is not an absent one: the reply part is unreadable, as by the Schema", () => {
    expect(decodeReply({ usage: { prompt_tokens: undefined } }).usage).toEqual(
      usageBySchema({ prompt_tokens: undefined })
    )
    expect(decodeReply({ usage: { prompt_tokens: -1, completion_tokens: 3 } }).usage).toBeUndefined()
    expect(decodeReply({ choices: [{ finish_reason: 7 }] }).choice).toBeUndefined()
  })
})
