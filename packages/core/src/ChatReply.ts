/**
 * A chat completion body, decoded once by Schema into the fields the runner reads: its id, the
 * model that answered, the first choice's message and finish reason, and the usage. Each part is
 * decoded on its own, so one part of an unexpected shape (a usage whose cost is text) leaves the
 * others readable; a part that does not decode is absent.
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { errorOf, type ProviderError } from "./ProviderError.ts"

const Count = Schema.Number.check(Schema.isFinite(), Schema.isGreaterThanOrEqualTo(0))

export const ChoiceSchema = Schema.Struct({
  message: Schema.optionalKey(Schema.NullOr(Schema.Struct({ content: Schema.optionalKey(Schema.Unknown) }))),
  finish_reason: Schema.optionalKey(Schema.NullOr(Schema.String))
})

export const UsageSchema = Schema.Struct({
  prompt_tokens: Schema.optionalKey(Count),
  completion_tokens: Schema.optionalKey(Count),
  cost: Schema.optionalKey(Schema.Unknown),
  prompt_tokens_details: Schema.optionalKey(
    Schema.NullOr(Schema.Struct({ cached_tokens: Schema.optionalKey(Schema.NullOr(Count)) }))
  ),
  completion_tokens_details: Schema.optionalKey(
    Schema.NullOr(Schema.Struct({ reasoning_tokens: Schema.optionalKey(Schema.NullOr(Count)) }))
  )
})

export interface ChatReply {
  /** The provider's id of the answer (OpenRouter's `gen-…`). */
  readonly id: string | undefined
  /** The model that answered, as the provider names it. */
  readonly model: string | undefined
  /** Its first choice (absent: no choices, or one of a shape we do not know). */
  readonly choice: typeof ChoiceSchema.Type | undefined
  /** The body's `error` object (some providers send one with a 200). */
  readonly error: ProviderError | undefined
  readonly usage:
    | {
        readonly promptTokens: number
        readonly completionTokens: number
        readonly reasoningTokens: number
        readonly cachedTokens: number
        /** `usage.cost` when it is a non-negative number. */
        readonly cost: number | undefined
      }
    | undefined
}

type Choice = typeof ChoiceSchema.Type
type Usage = typeof UsageSchema.Type

const schemaChoice = Schema.decodeUnknownOption(ChoiceSchema)
const schemaUsage = Schema.decodeUnknownOption(UsageSchema)

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v)
const isCount = (v: unknown): boolean => typeof v === "number" && Number.isFinite(v) && v >= 0
/** `o[key]` absent, or one of what `ok` allows (a key there holding `undefined` is not absent). */
const absentOr = (o: Record<string, unknown>, key: string, ok: (v: unknown) => boolean): boolean =>
  !(key in o) || ok(o[key])
const nullOr = (ok: (v: unknown) => boolean) => (v: unknown) => v === null || ok(v)
// made once: every reply is checked with them
const countOk = nullOr(isCount)
const detailsWith = (key: string) => nullOr((v) => isObject(v) && absentOr(v, key, countOk))
const messageOk = nullOr(isObject)
const finishOk = nullOr((v) => typeof v === "string")
const cachedOk = detailsWith("cached_tokens")
const reasoningOk = detailsWith("reasoning_tokens")

/**
 * Shapes the Schema would accept, checked by hand: every reply is read here, and the Schema's walk
 * cost more than the rest of reading it. What passes is used as it stands (only the declared
 * fields are read from it); anything else goes through the Schema, which has the last word.
 */
const plainChoice = (c: unknown): c is Choice =>
  isObject(c) && absentOr(c, "message", messageOk) && absentOr(c, "finish_reason", finishOk)
const plainUsage = (u: unknown): u is Usage =>
  isObject(u) &&
  absentOr(u, "prompt_tokens", isCount) &&
  absentOr(u, "completion_tokens", isCount) &&
  absentOr(u, "prompt_tokens_details", cachedOk) &&
  absentOr(u, "completion_tokens_details", reasoningOk)

const decodeChoice = (c: unknown): Choice | undefined =>
  plainChoice(c) ? c : Option.getOrUndefined(schemaChoice(c))
const decodeUsage = (u: unknown): Usage | undefined =>
  plainUsage(u) ? u : Option.getOrUndefined(schemaUsage(u))

const field = (body: unknown, key: string): unknown =>
  typeof body === "object" && body !== null ? (body as Record<string, unknown>)[key] : undefined

const text = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined)

/** The body's parts the runner reads, each decoded on its own. */
export const decodeReply = (body: unknown): ChatReply => {
  const choices = field(body, "choices")
  const usage = decodeUsage(field(body, "usage"))
  const cost = usage?.cost
  return {
    id: text(field(body, "id")),
    model: text(field(body, "model")),
    choice: Array.isArray(choices) ? decodeChoice(choices[0]) : undefined,
    error: errorOf(body),
    usage:
      usage === undefined
        ? undefined
        : {
            promptTokens: usage.prompt_tokens ?? 0,
            completionTokens: usage.completion_tokens ?? 0,
            reasoningTokens: usage.completion_tokens_details?.reasoning_tokens ?? 0,
            cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
            cost: typeof cost === "number" && Number.isFinite(cost) && cost >= 0 ? cost : undefined
          }
  }
}

/** The reply's text: a string content, or the text parts of a list of parts. */
export const contentOf = (reply: ChatReply): string => {
  const content = reply.choice?.message?.content
  if (typeof content === "string") return content
  if (Array.isArray(content))
    return content.map((c) => (typeof c === "object" && c && "text" in c ? String(c.text) : "")).join("")
  return ""
}
