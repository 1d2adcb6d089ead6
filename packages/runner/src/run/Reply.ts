/**
 * Reading a chat completion: its text, whether a JSON step's reply parses and matches its schema,
 * and a pack's reply split back into one answer per item. Pure.
 */
import { Ajv } from "ajv"
import type { Step } from "../dsl/Pipeline.ts"

/** The reply text of a chat completion. */
export const contentOf = (body: unknown): string => {
  const content = (body as { choices?: Array<{ message?: { content?: unknown } }> } | null)?.choices?.[0]
    ?.message?.content
  if (typeof content === "string") return content
  if (Array.isArray(content))
    return content.map((c) => (typeof c === "object" && c && "text" in c ? String(c.text) : "")).join("")
  return ""
}

/** Strips a ```json fence a model may wrap JSON in. */
const unfence = (text: string) => text.trim().replace(/^```(?:json)?\s*\n([\s\S]*?)\n?```$/, "$1")

/** The step's output from a reply that passed its check: text, or the parsed JSON. */
export const outputOf = (step: Step, body: unknown): unknown =>
  step.format === "json" ? JSON.parse(unfence(contentOf(body))) : contentOf(body)

const ajv = new Ajv({ strict: false, allErrors: true })

interface Choice {
  readonly message?: { readonly content?: unknown } | null
  readonly finish_reason?: unknown
}

const firstChoice = (body: unknown): Choice | undefined => {
  const choices = (body as { choices?: unknown } | null)?.choices
  return Array.isArray(choices) && typeof choices[0] === "object" && choices[0] !== null
    ? choices[0]
    : undefined
}

/** The reply stopped at `max_tokens` (`finish_reason: "length"`). */
/** The provider's id of an answer (OpenRouter's `gen-…`), by which `/generation` bills it. */
export const generationIdOf = (body: unknown): string | undefined => {
  const id = (body as { id?: unknown } | null)?.id
  return typeof id === "string" && id !== "" ? id : undefined
}

export const isTruncated = (body: unknown): boolean => firstChoice(body)?.finish_reason === "length"

/**
 * Why a 2xx reply holds no usable message, or undefined: no choices, no content, withheld by a
 * content filter, or cut off at `max_tokens` where the step needs the whole answer. Such a reply
 * is a failed attempt (retried per the step's `retry`, never cached), its cost still counted.
 */
export const messageProblem = (step: Step, body: unknown): string | undefined => {
  const choice = firstChoice(body)
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

/**
 * A check of each reply: a usable message (`messageProblem`), and for a JSON step, JSON that
 * matches the schema; a message says why not.
 */
export const replyCheck = (step: Step): ((body: unknown) => string | undefined) => {
  if (step.format !== "json") return (body) => messageProblem(step, body)
  const validate = step.schema !== undefined ? ajv.compile(step.schema) : undefined
  return (body) => {
    const problem = messageProblem(step, body)
    if (problem !== undefined) return problem
    let parsed: unknown
    try {
      parsed = JSON.parse(unfence(contentOf(body)))
    } catch {
      return "the reply is not valid JSON"
    }
    const ok = validate === undefined ? true : matches(validate, parsed)
    if (ok === "endless") return ENDLESS
    if (!ok)
      return `the reply does not match the schema: ${ajv.errorsText(validate?.errors, { dataVar: "reply" })}`
    return undefined
  }
}

/** Accepts `{"answers": [...]}`, or a bare array (a model that left the object out). */
const answersIn = (parsed: unknown): unknown[] | undefined => {
  if (Array.isArray(parsed)) return parsed
  const answers = (parsed as { answers?: unknown } | null)?.answers
  return Array.isArray(answers) ? answers : undefined
}

/** A text answer as the unpacked step would have it: a string (a bare number or boolean, as text). */
const textAnswer = (a: unknown): string | undefined =>
  typeof a === "string" ? a : typeof a === "number" || typeof a === "boolean" ? String(a) : undefined

/**
 * A pack's reply split into `size` outputs, one per item in order, each as the unpacked step's
 * output would be (text, or JSON matching the step's schema); or why it does not split.
 */
export const packCheck = (step: Step) => {
  const validate = step.format === "json" && step.schema !== undefined ? ajv.compile(step.schema) : undefined
  return (body: unknown, size: number): unknown[] | string => {
    const problem = messageProblem(step, body)
    if (problem !== undefined) return problem
    let parsed: unknown
    try {
      parsed = JSON.parse(unfence(contentOf(body)))
    } catch {
      return "the packed reply is not valid JSON"
    }
    const answers = answersIn(parsed)
    if (answers === undefined) return 'the packed reply has no "answers" array'
    if (answers.length !== size) return `the packed reply has ${answers.length} answers for ${size} requests`
    if (step.format !== "json") {
      const texts = answers.map(textAnswer)
      const bad = texts.indexOf(undefined)
      return bad < 0 ? (texts as string[]) : `answer ${bad + 1} of the packed reply is not text`
    }
    if (validate === undefined) return answers
    const checked = answers.map((a) => matches(validate, a))
    if (checked.includes("endless")) return ENDLESS
    const bad = checked.indexOf(false)
    if (bad < 0) return answers
    return `answer ${bad + 1} of the packed reply does not match the schema: ${ajv.errorsText(validate.errors, { dataVar: "answer" })}`
  }
}
