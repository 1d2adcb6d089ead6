/**
 * Reading a decoded chat completion (`ChatReply`): whether it holds a usable message, a step's
 * output (text, or JSON that matches its schema), and a pack's reply split back into one answer
 * per item. Each is the check the engine runs on a reply, so a reply is read once. Pure.
 */
import { type ChatReply, contentOf } from "@tollgate/core/ChatReply"
import type { Checked } from "@tollgate/core/Job"
import { Ajv } from "ajv"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { Step } from "../dsl/Pipeline.ts"

/** Strips a ```json fence a model may wrap JSON in. */
const unfence = (text: string) => text.trim().replace(/^```(?:json)?\s*\n([\s\S]*?)\n?```$/, "$1")

const ajv = new Ajv({ strict: false, allErrors: true })

/** The reply stopped at `max_tokens` (`finish_reason: "length"`). */
export const isTruncated = (reply: ChatReply): boolean => reply.choice?.finish_reason === "length"

/**
 * Why a 2xx reply holds no usable message, or undefined: no choices, no content, withheld by a
 * content filter, or cut off at `max_tokens` where the step needs the whole answer. Such a reply
 * is a failed attempt (retried per the step's `retry`, never cached), its cost still counted.
 */
export const messageProblem = (step: Step, reply: ChatReply): string | undefined => {
  const choice = reply.choice
  if (choice === undefined) return "the reply has no choices"
  if (choice.finish_reason === "content_filter")
    return "the reply was withheld by the provider's content filter (finish_reason: content_filter)"
  if (choice.finish_reason === "error")
    return "the provider failed partway through the reply (finish_reason: error)"
  if (choice.finish_reason === "length" && !step.allowTruncated)
    return `the reply was cut off at max_tokens ${step.maxTokens} (finish_reason: length); raise max_tokens, or set output.truncated: allow`
  const content = choice.message?.content
  if (content === null || content === undefined) return "the reply has no content (message.content is null)"
  return undefined
}

/** Runs a schema check; a schema that never ends on this value is a failed check, not a crash. */
const matches = (validate: (v: unknown) => boolean, value: unknown): boolean | "endless" => {
  try {
    return validate(value)
  } catch (e) {
    if (e instanceof RangeError) return "endless"
    throw e
  }
}
const ENDLESS = "the schema refers to itself without end on this reply"

const problem = (p: string): Checked => ({ _tag: "problem", problem: p })
const output = (o: unknown): Checked => ({ _tag: "output", output: o })

/**
 * A step's check of each reply, and its output: a usable message (`messageProblem`), the text;
 * for a JSON step, JSON that matches the schema, parsed. A problem says why not.
 */
export const replyCheck = (step: Step): ((reply: ChatReply) => Checked) => {
  if (step.format !== "json")
    return (reply) => {
      const p = messageProblem(step, reply)
      return p !== undefined ? problem(p) : output(contentOf(reply))
    }
  const validate = step.schema !== undefined ? ajv.compile(step.schema) : undefined
  return (reply) => {
    const p = messageProblem(step, reply)
    if (p !== undefined) return problem(p)
    let parsed: unknown
    try {
      parsed = JSON.parse(unfence(contentOf(reply)))
    } catch {
      return problem("the reply is not valid JSON")
    }
    const ok = validate === undefined ? true : matches(validate, parsed)
    if (ok === "endless") return problem(ENDLESS)
    if (!ok)
      return problem(
        `the reply does not match the schema: ${ajv.errorsText(validate?.errors, { dataVar: "reply" })}`
      )
    return output(parsed)
  }
}

/** Accepts `{"answers": [...]}`, or a bare array (a model that left the object out). */
const answersIn = (parsed: unknown): ReadonlyArray<unknown> | undefined =>
  Array.isArray(parsed) ? parsed : Option.getOrUndefined(decodeAnswers(parsed))?.answers

const decodeAnswers = Schema.decodeUnknownOption(Schema.Struct({ answers: Schema.Array(Schema.Unknown) }))

/** A text answer as the unpacked step would have it: a string (a bare number or boolean, as text). */
const textAnswer = (a: unknown): string | undefined =>
  typeof a === "string" ? a : typeof a === "number" || typeof a === "boolean" ? String(a) : undefined

/**
 * A pack's reply split into `size` outputs, one per item in order, each as the unpacked step's
 * output would be (text, or JSON matching the step's schema); or why it does not split.
 */
export const packCheck = (step: Step) => {
  const validate = step.format === "json" && step.schema !== undefined ? ajv.compile(step.schema) : undefined
  return (reply: ChatReply, size: number): ReadonlyArray<unknown> | string => {
    const problem = messageProblem(step, reply)
    if (problem !== undefined) return problem
    let parsed: unknown
    try {
      parsed = JSON.parse(unfence(contentOf(reply)))
    } catch {
      return "the packed reply is not valid JSON"
    }
    const answers = answersIn(parsed)
    if (answers === undefined) return 'the packed reply has no "answers" array'
    if (answers.length !== size) return `the packed reply has ${answers.length} answers for ${size} requests`
    if (step.format !== "json") {
      const texts = answers.map(textAnswer)
      const bad = texts.indexOf(undefined)
      return bad < 0
        ? texts.filter((t) => t !== undefined)
        : `answer ${bad + 1} of the packed reply is not text`
    }
    if (validate === undefined) return answers
    const checked = answers.map((a) => matches(validate, a))
    if (checked.includes("endless")) return ENDLESS
    const bad = checked.indexOf(false)
    if (bad < 0) return answers
    return `answer ${bad + 1} of the packed reply does not match the schema: ${ajv.errorsText(validate.errors, { dataVar: "answer" })}`
  }
}
