/**
 * `pack: N` on a `for_each` step: up to N items in one request. The items' rendered prompts go as
 * a numbered list in one user message, with what they all share (a system message, say) sent
 * once, and the reply is asked for as `{"answers": [...]}`, one answer per item, in order. One
 * builder for plan (to price and cache-check a pack) and run (to send it); pure.
 */
import type { Message, Step } from "./Pipeline.ts"
import { buildBody } from "./Request.ts"

/** Completion tokens a pack allows per item beyond its `max_tokens`: the JSON around each answer. */
export const PACK_TOKENS_PER_ITEM = 8

/** A pack's `max_tokens`: each item's `max_tokens` plus its JSON framing. */
export const packMaxTokens = (step: Step, size: number): number =>
  size * (step.maxTokens + PACK_TOKENS_PER_ITEM)

/** The JSON schema of a pack's reply: `{"answers": [...]}` with exactly `size` answers. */
export const answersSchema = (step: Step, size: number): Record<string, unknown> => ({
  type: "object",
  properties: {
    answers: {
      type: "array",
      items: step.format === "json" ? (step.schema ?? {}) : { type: "string" },
      minItems: size,
      maxItems: size
    }
  },
  required: ["answers"],
  additionalProperties: false
})

const OPEN = (n: number) => `<request n="${n}">`
const CLOSE = "</request>"

const answerShape = (step: Step): string =>
  step.format !== "json"
    ? "Each answer is a string holding the whole reply to its request."
    : step.schema !== undefined
      ? `Each answer is the JSON value its request asks for, matching this JSON schema: ${JSON.stringify(step.schema)}`
      : "Each answer is the JSON value its request asks for."

/** The instructions that open a pack's user message. */
const instructions = (step: Step, size: number): string =>
  [
    `Below are ${size} separate requests, numbered 1 to ${size}. Answer each one on its own, as if it were the only one.`,
    `Reply with only a JSON object {"answers": [...]} whose "answers" array holds exactly ${size} answers, in order: the answer to request 1 first.`,
    answerShape(step)
  ].join("\n")

/**
 * One request's messages for the items of a pack (each item's rendered messages): messages every
 * item renders alike are sent once, in place; the rest go, item by item, as a numbered list in
 * one user message after them. `varies`: texts that stand for different values though they read
 * alike (the plan's stand-ins for upstream outputs), so each item counts its own.
 */
export const packMessages = (
  step: Step,
  perItem: ReadonlyArray<ReadonlyArray<Message>>,
  varies: (text: string) => boolean = () => false
): Message[] => {
  const first = perItem[0] ?? []
  const shared: Message[] = []
  const varying: number[] = []
  first.forEach((m, j) => {
    if (!varies(m.content) && perItem.every((ms) => ms[j]?.content === m.content)) shared.push(m)
    else varying.push(j)
  })
  const list = perItem.map(
    (ms, i) => `${OPEN(i + 1)}\n${varying.map((j) => ms[j]?.content ?? "").join("\n\n")}\n${CLOSE}`
  )
  return [
    ...shared,
    { role: "user", content: `${instructions(step, perItem.length)}\n\n${list.join("\n\n")}` }
  ]
}

/** The body of a pack's request: the step's body with the pack's messages, `max_tokens` and reply format. */
export const packBody = (
  step: Step,
  messages: ReadonlyArray<Message>,
  size: number
): Record<string, unknown> => {
  const body = buildBody(step, messages)
  body.max_tokens = packMaxTokens(step, size)
  // strict when each answer's shape is known (text, or the step's schema); free-form JSON answers: a hint
  body.response_format = {
    type: "json_schema",
    json_schema: {
      name: `${step.id.replace(/[^a-zA-Z0-9_-]/g, "_")}_answers`,
      strict: step.format !== "json" || step.schema !== undefined,
      schema: answersSchema(step, size)
    }
  }
  return body
}

/** A pack that went unanswered goes again as two halves (the first the larger), down to single items. */
export const halves = <A>(pack: ReadonlyArray<A>): [ReadonlyArray<A>, ReadonlyArray<A>] => {
  const half = Math.ceil(pack.length / 2)
  return [pack.slice(0, half), pack.slice(half)]
}

const ITEM = /<request n="(\d+)">\n([\s\S]*?)\n<\/request>/g

/**
 * The items of a pack's request as its last user message lists them (what a local or simulated
 * provider answers one by one), or undefined for a request that is not a pack.
 */
export const packedItems = (body: Readonly<Record<string, unknown>>): string[] | undefined => {
  const messages = (body.messages ?? []) as ReadonlyArray<{ role?: string; content?: unknown }>
  const last = [...messages].reverse().find((m) => m.role === "user")?.content
  if (typeof last !== "string" || !last.includes(OPEN(1))) return undefined
  return [...last.matchAll(ITEM)].map((m) => m[2]!)
}
