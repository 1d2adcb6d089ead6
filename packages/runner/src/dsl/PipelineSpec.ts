/**
 * The pipeline as written, as an Effect Schema: the document is decoded with it after ajv has
 * checked it against `schemas/pipeline.schema.json` (which gives the positioned diagnostics), so
 * the rest of the code works on typed values, never casts. Types derive from here.
 */
import * as Schema from "effect/Schema"

const Int = Schema.Int
const Num = Schema.Number
const Str = Schema.String
const opt = Schema.optionalKey

export const ModelRef = Schema.Union([Str, Schema.Array(Str)])
export type ModelRef = typeof ModelRef.Type

export const Message = Schema.Struct({
  role: Schema.Literals(["system", "user", "assistant"]),
  content: Str
})
export type Message = typeof Message.Type

const JsonObject = Schema.Record(Str, Schema.Unknown)

const settings = {
  model: opt(ModelRef),
  max_tokens: opt(Int),
  temperature: opt(Num),
  top_p: opt(Num),
  params: opt(JsonObject),
  retry: opt(Schema.Struct({ max_attempts: opt(Int) })),
  timeout: opt(Str),
  cache: opt(Schema.Boolean),
  /** Where a free model's requests go when the deadline needs them: a paid model (default: the free one's paid variant). */
  overflow: opt(Schema.Struct({ model: opt(Str) }))
}

export const StepSettings = Schema.Struct(settings)
export type StepSettings = typeof StepSettings.Type

export const StepSpec = Schema.Struct({
  ...settings,
  id: Str,
  prompt: opt(Str),
  system: opt(Str),
  messages: opt(Schema.Array(Message)),
  for_each: opt(Str),
  as: opt(Str),
  max_items: opt(Int),
  pack: opt(Int),
  needs: opt(Schema.Array(Str)),
  when: opt(Str),
  output: opt(
    Schema.Struct({
      format: opt(Schema.Literals(["text", "json"])),
      schema: opt(JsonObject),
      truncated: opt(Schema.Literals(["allow", "fail"]))
    })
  ),
  continue_on_error: opt(Schema.Boolean)
})
export type StepSpec = typeof StepSpec.Type

export const InputSpec = Schema.Struct({
  type: opt(Schema.Literals(["string", "number", "boolean", "array", "object"])),
  description: opt(Str),
  default: opt(Schema.Unknown),
  from: opt(Str)
})
export type InputSpec = typeof InputSpec.Type

export const PipelineSpec = Schema.Struct({
  version: Schema.Literal(1),
  name: Str,
  description: opt(Str),
  provider: opt(
    Schema.Struct({
      base_url: opt(Str),
      api_key_env: opt(Str),
      headers: opt(Schema.Record(Str, Str)),
      kind: opt(Schema.Literals(["openrouter", "openai"])),
      routing: opt(
        Schema.Struct({
          order: opt(Schema.Array(Str)),
          only: opt(Schema.Array(Str)),
          ignore: opt(Schema.Array(Str)),
          allow_fallbacks: opt(Schema.Boolean),
          require_parameters: opt(Schema.Boolean),
          data_collection: opt(Schema.Literals(["allow", "deny"])),
          zdr: opt(Schema.Boolean),
          sort: opt(Schema.Literals(["price", "throughput", "latency"])),
          quantizations: opt(Schema.Array(Str)),
          price_markup: opt(Num)
        })
      )
    })
  ),
  account: opt(Schema.Struct({ credits_purchased_usd: opt(Num), balance_usd: opt(Num) })),
  pricing: opt(Schema.Record(Str, Schema.Struct({ prompt: Num, completion: Num, request: opt(Num) }))),
  defaults: opt(StepSettings),
  /** When the job must be done: an instant (`2026-12-05T09:00Z`) or a duration from the run's start (`36h`). */
  deadline: opt(Str),
  budget: opt(
    Schema.Struct({
      max_cost_usd: opt(Num),
      max_requests: opt(Int),
      max_free_requests: opt(Int),
      gate: opt(Schema.Literals(["max", "expected"])),
      shared: opt(Str),
      enforce: opt(Schema.Literals(["runner", "provider"]))
    })
  ),
  limits: opt(
    Schema.Struct({
      concurrency: opt(Int),
      window: opt(Str),
      window_margin: opt(Str),
      models: opt(Schema.Record(Str, Schema.Struct({ rpm: opt(Num) }))),
      free: opt(
        Schema.Struct({ rpm: opt(Num), scope: opt(Schema.Literals(["account", "model"])), per_day: opt(Int) })
      )
    })
  ),
  cache: opt(Schema.Struct({ enabled: opt(Schema.Boolean), ttl: opt(Str) })),
  inputs: opt(Schema.Record(Str, InputSpec)),
  steps: Schema.Array(StepSpec),
  outputs: opt(Schema.Record(Str, Str))
})
export type PipelineSpec = typeof PipelineSpec.Type

/** Decodes a document ajv has accepted; a mismatch means the two schemas disagree (a bug). */
export const decodePipelineSpec = Schema.decodeUnknownExit(PipelineSpec)
