/**
 * The `error` object a provider puts in a body (on a 4xx or 5xx, and on some 200s), decoded once
 * by Schema with the `metadata` fields OpenRouter uses to tell one limit from another. Each field
 * is decoded on its own: one of an unexpected type is absent, the others stay readable.
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/** OpenRouter's `error.metadata` fields that tell one credit or budget limit from another. */
export interface LimitMetadata {
  readonly reason?: string | undefined
  readonly limitSource?: string | undefined
  readonly scope?: string | undefined
  readonly limitUsd?: number | undefined
  readonly spendUsd?: number | undefined
  readonly resetsAt?: string | undefined
}

export interface ProviderError {
  readonly code: number | undefined
  readonly message: string
  readonly metadata: LimitMetadata
}

const ErrorObject = Schema.Record(Schema.String, Schema.Unknown)
const decodeObject = Schema.decodeUnknownOption(ErrorObject)
const decodeText = Schema.decodeUnknownOption(Schema.String)
const decodeNumber = Schema.decodeUnknownOption(Schema.Number.check(Schema.isFinite()))

const text = (v: unknown) => Option.getOrUndefined(decodeText(v))
const number = (v: unknown) => Option.getOrUndefined(decodeNumber(v))

const metadataOf = (v: unknown): LimitMetadata => {
  const m = Option.getOrUndefined(decodeObject(v))
  if (m === undefined) return {}
  return {
    reason: text(m.reason),
    limitSource: text(m.limit_source),
    scope: text(m.scope),
    limitUsd: number(m.limit_usd),
    spendUsd: number(m.spend_usd),
    resetsAt: text(m.resets_at)
  }
}

/** The body's `error`, or undefined when it has none (a body that is not an object has none). */
export const errorOf = (body: unknown): ProviderError | undefined => {
  // most bodies are answers: told apart without decoding (copying) the whole body
  if (typeof body !== "object" || body === null || !("error" in body)) return undefined
  const b = Option.getOrUndefined(decodeObject(body))
  if (b === undefined) return undefined
  const e = Option.getOrUndefined(decodeObject(b.error))
  if (e === undefined) return { code: undefined, message: String(b.error), metadata: {} }
  return {
    code: number(e.code),
    message: text(e.message) ?? JSON.stringify(b.error),
    metadata: metadataOf(e.metadata)
  }
}
