/**
 * Where the memo of token counts (`plan/TokenMemo.ts`) keeps its records, and their form: a 4-byte
 * mark and 12-byte records (a 60-bit key from the text's SHA-1 as two int32, and the count). The
 * file form is `token-counts.bin` in the state dir, through `FileSystem`; the Redis form is
 * `RedisTokenMemo.ts`.
 */
import { join } from "node:path"
import * as Files from "@tollgate/core/Files"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"

/**
 * "TGC2": the file's first four bytes (little-endian), its format. A "TGC1" memo (keys from SHA-256)
 * reads as empty and is rewritten: its texts are counted once more.
 */
export const MARK = 0x32434754
/** Bytes per record: two key halves and a count, each an int32. */
export const RECORD = 12
export const fileOf = (stateDir: string): string => join(stateDir, "token-counts.bin")

/**
 * The records of a memo file's bytes in file order (oldest first), or none when it is missing or
 * not a memo; `whole`: no record was cut short (else appending would misalign every later one).
 */
export const recordsOf = (
  buf: Uint8Array | undefined
): { readonly records: Int32Array; readonly whole: boolean } => {
  if (buf === undefined || buf.length < 4) return { records: new Int32Array(0), whole: false }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  if (view.getUint32(0, true) !== MARK) return { records: new Int32Array(0), whole: false }
  const n = Math.floor((buf.length - 4) / RECORD)
  const records = new Int32Array(buf.buffer.slice(buf.byteOffset + 4, buf.byteOffset + 4 + n * RECORD))
  return { records, whole: (buf.length - 4) % RECORD === 0 }
}

/**
 * Where the memo's records live: a file in the state dir (`fileStore`), or a shared store
 * (`store/RedisTokenMemo.ts`) so every machine on it plans from what any one counted.
 */
export interface MemoStore {
  /** The records in store order (oldest first); `whole`: none was cut short (else the next save replaces them). */
  readonly read: Effect.Effect<{ readonly records: Int32Array; readonly whole: boolean }>
  readonly append: (records: Int32Array) => Effect.Effect<void, unknown>
  readonly replace: (records: Int32Array) => Effect.Effect<void, unknown>
}

const bytesOf = (records: Int32Array): Uint8Array =>
  new Uint8Array(records.buffer, records.byteOffset, records.byteLength)

/** The memo in a file (`token-counts.bin`), through `FileSystem`. */
export const fileStore = (file: string, fs: FileSystem.FileSystem): MemoStore => ({
  read: fs.readFile(file).pipe(
    Effect.map(recordsOf),
    Effect.orElseSucceed(() => recordsOf(undefined))
  ),
  append: (records) => fs.writeFile(file, bytesOf(records), { flag: "a" }),
  replace: (records) =>
    Files.writeAtomic(file, fileText(records)).pipe(Effect.provideService(FileSystem.FileSystem, fs))
})

const fileText = (records: Int32Array): Buffer => {
  const head = Buffer.alloc(4)
  head.writeUInt32LE(MARK)
  return Buffer.concat([head, Buffer.from(records.buffer, records.byteOffset, records.byteLength)])
}
