/**
 * `provider.base_url: echo:` (or `--base-url echo:`): answers locally and deterministically, so a
 * pipeline can run with no key and no network. Text steps get their last user message back;
 * JSON steps get the smallest value their schema accepts. Usage is reported, cost is 0.
 */
import { type Outcome, Provider } from "@tollgate/core/Provider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

export const isEcho = (baseUrl: string): boolean => baseUrl.startsWith("echo:")

/** The smallest value a (simple) JSON schema accepts. */
export const sampleOf = (schema: unknown): unknown => {
  const s = (schema ?? {}) as Record<string, unknown>
  if ("const" in s) return s.const
  if (Array.isArray(s.enum)) return s.enum[0]
  const type = Array.isArray(s.type) ? s.type[0] : s.type
  switch (type) {
    case "object": {
      const props = (s.properties ?? {}) as Record<string, unknown>
      const required = (s.required ?? []) as string[]
      return Object.fromEntries(required.map((k) => [k, sampleOf(props[k])]))
    }
    case "array":
      return Array.from({ length: Number(s.minItems ?? 0) }, () => sampleOf(s.items))
    case "string":
      return typeof s.pattern === "string" && s.pattern === "^[A-Z]{3}$" ? "USD" : "echo"
    case "number":
    case "integer":
      return Number(s.minimum ?? 0)
    case "boolean":
      return false
    case "null":
      return null
    default:
      return {}
  }
}

const words = (text: string) => Math.max(1, Math.ceil(text.length / 4))

/** A reply that fits the request's `response_format` (a schema sample, `{}`), else `text`. */
export const replyContent = (body: Readonly<Record<string, unknown>>, text: string): string => {
  const rf = body.response_format as { type?: string; json_schema?: { schema?: unknown } } | undefined
  if (rf?.type === "json_schema") return JSON.stringify(sampleOf(rf.json_schema?.schema))
  return rf?.type === "json_object" ? "{}" : text
}

export const reply = (body: Readonly<Record<string, unknown>>): Outcome => {
  const messages = (body.messages ?? []) as Array<{ role: string; content: string }>
  const last = [...messages].reverse().find((m) => m.role === "user")?.content ?? ""
  const rf = body.response_format
  const content = replyContent(body, `echo: ${last}`)
  const maxTokens = Number(body.max_tokens ?? 256)
  const completionTokens = Math.min(maxTokens, words(content))
  const clipped =
    completionTokens < words(content) && rf === undefined ? content.slice(0, maxTokens * 4) : content
  const promptTokens = messages.reduce((n, m) => n + words(m.content) + 4, 3)
  return {
    _tag: "Response",
    status: 200,
    headers: {},
    body: {
      id: "echo",
      model: String(body.model ?? "echo"),
      choices: [{ index: 0, message: { role: "assistant", content: clipped }, finish_reason: "stop" }],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
        cost: 0
      }
    }
  }
}

export const layer = Layer.succeed(Provider, { send: (req) => Effect.succeed(reply(req.body)) })
