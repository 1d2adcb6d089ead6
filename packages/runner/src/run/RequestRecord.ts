/** One finished request as a step's records keep it (`steps/<id>.jsonl`): what it answered, cost and was billed by. */
import * as Schema from "effect/Schema"

export const RequestRecord = Schema.Struct({
  index: Schema.Number,
  key: Schema.String,
  /** `split`: a pack whose reply did not split into its items' answers (its items went again, smaller). */
  status: Schema.Literals(["ok", "error", "split"]),
  output: Schema.optionalKey(Schema.Unknown),
  cost_usd: Schema.optionalKey(Schema.String),
  cost_source: Schema.optionalKey(Schema.String),
  /** Tokens × catalog prices, recorded beside `usage.cost` for comparison. */
  catalog_cost_usd: Schema.optionalKey(Schema.String),
  cached: Schema.optionalKey(Schema.Boolean),
  reused: Schema.optionalKey(Schema.Boolean),
  attempts: Schema.optionalKey(Schema.Number),
  usage: Schema.optionalKey(Schema.Unknown),
  model: Schema.optionalKey(Schema.String),
  /** The provider's id of the answer (OpenRouter's `gen-…`): what `/generation` settles it by. */
  generation_id: Schema.optionalKey(Schema.String),
  /** That answer's own figure, when earlier billed attempts make `cost_usd` larger. */
  answer_cost_usd: Schema.optionalKey(Schema.String),
  error: Schema.optionalKey(Schema.String),
  /** A step that overflows: the free model answered, or the paid one (and why). */
  route: Schema.optionalKey(Schema.Literals(["free", "paid"])),
  overflow_reason: Schema.optionalKey(Schema.String),
  /** An item answered in a pack: the pack request's key, its size, and the item's place in it. */
  pack: Schema.optionalKey(
    Schema.Struct({ key: Schema.String, size: Schema.Number, position: Schema.Number })
  )
})
export type RequestRecord = typeof RequestRecord.Type
