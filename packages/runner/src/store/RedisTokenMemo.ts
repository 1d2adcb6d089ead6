/**
 * The memo of token counts in a shared store (`--store redis://…`): one string of its records in
 * base64 (12-byte records are whole base64 groups, so appending the text of new records appends
 * records), so every machine on the store plans from what any one counted. Best effort, as the
 * file is: a memo that cannot be read is empty, one that cannot be written costs counting again.
 */
import { PREFIX } from "@tollgate/core/RedisStores"
import * as Effect from "effect/Effect"
import { Redis } from "effect/persistence"
import { type MemoStore, RECORD } from "./TokenMemoStore.ts"

const KEY = `${PREFIX}token-counts:v2`

const textOf = (records: Int32Array): string =>
  Buffer.from(records.buffer, records.byteOffset, records.byteLength).toString("base64")

/** The records a stored text holds; a text cut or damaged mid-record keeps its whole records. */
const recordsOf = (text: string | null): { readonly records: Int32Array; readonly whole: boolean } => {
  const bytes = Buffer.from(text ?? "", "base64")
  const n = Math.floor(bytes.length / RECORD)
  const records = new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + n * RECORD))
  return { records, whole: n > 0 && bytes.length % RECORD === 0 }
}

export const makeTokenMemo = Effect.gen(function* () {
  const redis = yield* Redis.Redis
  return {
    read: redis.send<string | null>("GET", KEY).pipe(
      Effect.map(recordsOf),
      Effect.orElseSucceed(() => recordsOf(null))
    ),
    append: (records) => redis.send("APPEND", KEY, textOf(records)),
    replace: (records) => redis.send("SET", KEY, textOf(records))
  } satisfies MemoStore
})
