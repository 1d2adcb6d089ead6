/** A shared store (Redis) stopped answering mid-run: the run stops sending, those in flight settle. */
import * as Schema from "effect/Schema"

export class StoreLost extends Schema.TaggedError<StoreLost>()("StoreLost", {
  message: Schema.String
}) {}

/** A store client's failure as `StoreLost`, with its cause's message. */
export const storeLost = (e: unknown): StoreLost =>
  new StoreLost({
    message: String(
      (e as { cause?: { message?: unknown } }).cause?.message ?? (e as { message?: unknown }).message ?? e
    )
  })
