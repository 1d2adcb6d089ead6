/** Reading a chat completion: its text, and whether a JSON step's reply parses and matches its schema. Pure. */
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

/** For a JSON step, a check of each reply: a message when it is not JSON or does not match the schema. */
export const replyCheck = (step: Step): ((body: unknown) => string | undefined) | undefined => {
  if (step.format !== "json") return undefined
  const validate = step.schema !== undefined ? ajv.compile(step.schema) : undefined
  return (body) => {
    let parsed: unknown
    try {
      parsed = JSON.parse(unfence(contentOf(body)))
    } catch {
      return "the reply is not valid JSON"
    }
    if (validate && !validate(parsed))
      return `the reply does not match the schema: ${ajv.errorsText(validate.errors, { dataVar: "reply" })}`
    return undefined
  }
}
