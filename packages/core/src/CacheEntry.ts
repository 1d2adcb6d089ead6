/** One cached reply as a shared store (Redis) keeps it, and as earlier runners kept it in files. */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/** A stored entry, decoded before use: anything else is a damaged entry. */
export const CacheEntry = Schema.Struct({
  v: Schema.Literal(1),
  key: Schema.String,
  created_at_ms: Schema.Number,
  body: Schema.Unknown
})
export type CacheEntry = typeof CacheEntry.Type
const decodeEntry = Schema.decodeUnknownOption(Schema.fromJsonString(CacheEntry))

/** The body of a stored entry's text when it decodes and is the entry for `key`; undefined when damaged. */
export const entryBody = (
  text: string,
  key: string
): { readonly body: unknown; readonly createdAtMs: number } | undefined => {
  const entry = Option.getOrUndefined(decodeEntry(text))
  return entry !== undefined && entry.key === key
    ? { body: entry.body, createdAtMs: entry.created_at_ms }
    : undefined
}
