/** The chat request a step sends: one builder for plan (to price and cache-check) and run (to send). */
import type { Message, Pipeline, Step } from "./Pipeline.ts"

/** `response_format` for a JSON step: the schema when given, else JSON mode. */
export const responseFormat = (step: Step): Record<string, unknown> | undefined => {
  if (step.format !== "json") return undefined
  if (step.schema === undefined) return { type: "json_object" }
  return {
    type: "json_schema",
    json_schema: { name: step.id.replace(/[^a-zA-Z0-9_-]/g, "_"), strict: true, schema: step.schema }
  }
}

/** The body of `POST {base_url}/chat/completions` for one request of `step`. */
export const buildBody = (step: Step, messages: ReadonlyArray<Message>): Record<string, unknown> => {
  const body: Record<string, unknown> = {
    ...step.params,
    model: step.models[0],
    messages: messages.map((m) => ({ role: m.role, content: m.content })),
    max_tokens: step.maxTokens
  }
  // OpenRouter's own fields go to OpenRouter only: OpenAI's API and strict servers refuse them
  if (step.vendor === "openrouter") body.usage = { include: true }
  if (step.models.length > 1 && step.vendor === "openrouter") body.models = [...step.models]
  if (step.temperature !== undefined) body.temperature = step.temperature
  if (step.topP !== undefined) body.top_p = step.topP
  const rf = responseFormat(step)
  if (rf !== undefined) body.response_format = rf
  return body
}

/** The base URL requests go to: `--base-url` wins over the pipeline. */
export const baseUrlOf = (pipeline: Pipeline, override: string | undefined): string =>
  (override ?? pipeline.baseUrl).replace(/\/+$/, "")
