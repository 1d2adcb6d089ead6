/**
 * A memo of token counts by text digest, kept in the state dir (`token-counts.bin`). Counting
 * needs the o200k tables (~100 ms and ~30 MB to load); a plan whose texts were all counted before
 * (the CI job planning on every push) answers from the memo and never loads them. Counts are a
 * pure function of the text, so a lost or damaged memo only costs time: it is read as empty (a
 * record cut short by a kill is left out), and a failed write is ignored. Only digests and counts
 * are stored, never text.
 *
 * The file is a 4-byte mark and 12-byte records (a 60-bit key from the text's SHA-1 as two
 * int32, and the count), read into an open-addressing table over typed arrays: a million counts
 * are 12 MB on disk and load in well under a second, where a JSON object of them took seconds
 * and hundreds of MB. A save appends only what the plan added, and rewrites the file only to hold
 * it to its cap.
 */
import { hash } from "node:crypto"
import * as Effect from "effect/Effect"
import type { MemoStore } from "../store/TokenMemoStore.ts"
import { CountTable } from "./CountTable.ts"
import { expectedTokens } from "./TokenEstimate.ts"

/**
 * The memo keeps the most recently used counts, up to this many (about 600 KB on disk), and always
 * every count the latest plan used, so a plan of more texts than that is all memo the next time.
 */
export const MAX_ENTRIES = 50_000
/** Texts this short (a system prompt sent with every item) are looked up by themselves, not hashed each time. */
const SHORT = 128
const SHORT_MAX = 10_000

export interface TokenMemo {
  /** The expected tokens of a text, from the memo or counted (and remembered). */
  readonly expected: (text: string) => number
  /** Series of counts by a key (a step's requests: `StepCounts.ts`), kept as the counts are. */
  readonly series: Series
  /** Writes what was added, if anything; best effort (a failed write is ignored). */
  readonly save: Effect.Effect<void>
}

const B64 = new Uint8Array(128)
for (const [i, c] of [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"].entries())
  B64[c.charCodeAt(0)] = i
/** 30 bits from five base64url characters of a digest. */
const bits30 = (d: string, at: number): number =>
  (B64[d.charCodeAt(at)]! << 24) |
  (B64[d.charCodeAt(at + 1)]! << 18) |
  (B64[d.charCodeAt(at + 2)]! << 12) |
  (B64[d.charCodeAt(at + 3)]! << 6) |
  B64[d.charCodeAt(at + 4)]!

/**
 * A text's key: 60 bits of its SHA-1, as two numbers. A cache key, not a secret or a signature:
 * SHA-1 is five times as fast as SHA-256 here, and a plan hashes every text it counts.
 */
const keyOf = (text: string): readonly [number, number] => {
  const d = hash("sha1", text, "base64url")
  return [bits30(d, 0), bits30(d, 5)]
}

/**
 * The records a save keeps when the file passes its cap: every one this plan used, then the most
 * recent of the others up to `cap`.
 */
const kept = (onDisk: Int32Array, table: CountTable, cap: number): Int32Array => {
  const others: number[] = []
  for (let k = 0; k < onDisk.length; k += 3) if (!table.isUsed(onDisk[k]!, onDisk[k + 1]!)) others.push(k)
  const room = Math.max(0, cap - table.usedCount)
  const out: number[] = []
  for (const k of others.slice(Math.max(0, others.length - room)))
    out.push(onDisk[k]!, onDisk[k + 1]!, onDisk[k + 2]!)
  table.forEachUsed((a, b, n) => out.push(a, b, n))
  return new Int32Array(out)
}

const concat = (a: Int32Array, b: ReadonlyArray<number>): Int32Array => {
  const out = new Int32Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

/**
 * Non-negative numbers remembered in order under a key: its length at the key's own place, each
 * value at the places after it (60-bit keys: a series meets a text's key as two texts meet).
 */
export interface Series {
  /** The series remembered under `key`, when it is whole and `length` long. */
  readonly get: (key: string, length: number) => Int32Array | undefined
  readonly put: (key: string, values: Int32Array) => void
}

const MASK30 = (1 << 30) - 1

export interface Options {
  /** The counter behind the memo (default: the tokenizer). */
  readonly count?: (text: string) => number
  readonly maxEntries?: number
}

/** The memo kept in `store`. */
export const open = (store: MemoStore, options: Options = {}) =>
  Effect.map(store.read, (read) => memoOf(store, read, options))

/** The memo over the records as read; its `save` writes to `store`. */
const memoOf = (
  store: MemoStore,
  { records: onDisk, whole }: { readonly records: Int32Array; readonly whole: boolean },
  options: Options
): TokenMemo => {
  const { count = expectedTokens, maxEntries = MAX_ENTRIES } = options
  const table = new CountTable(onDisk.length / 3)
  for (let k = 0; k < onDisk.length; k += 3)
    if (onDisk[k + 2]! >= 0) table.put(onDisk[k]!, onDisk[k + 1]!, onDisk[k + 2]!)
  let records = onDisk.length / 3
  // a file with a record cut short (a kill during a save) is rewritten, not appended to
  let exists = onDisk.length > 0 && whole
  const added: number[] = []
  const short = new Map<string, number>()
  const remember = (a: number, b: number, n: number) => {
    table.put(a, b, n)
    table.use(a, b)
    added.push(a, b, n)
  }
  const lookUp = (text: string): number => {
    const [a, b] = keyOf(text)
    const known = table.use(a, b)
    if (known >= 0) return known
    const n = count(text)
    remember(a, b, n)
    return n
  }
  const series: Series = {
    get: (key, length) => {
      const [a, b] = keyOf(key)
      if (table.use(a, b) !== length) return undefined
      const values = new Int32Array(length)
      for (let i = 0; i < length; i++) {
        const n = table.use(a, (b + 1 + i) & MASK30)
        if (n < 0) return undefined
        values[i] = n
      }
      return values
    },
    put: (key, values) => {
      const [a, b] = keyOf(key)
      for (let i = 0; i < values.length; i++) remember(a, (b + 1 + i) & MASK30, values[i]!)
      remember(a, b, values.length)
    }
  }
  const write = Effect.gen(function* () {
    const cap = Math.max(maxEntries, table.usedCount)
    if (exists && records + added.length / 3 <= cap) {
      yield* store.append(new Int32Array(added))
      records += added.length / 3
    } else {
      // what another process appended meanwhile is kept
      const all = concat((yield* store.read).records, added)
      const body = all.length / 3 > cap ? kept(all, table, maxEntries) : all
      yield* store.replace(body)
      exists = true
      records = body.length / 3
    }
    added.length = 0
  })
  return {
    expected: (text) => {
      if (text === "") return 0
      if (text.length > SHORT) return lookUp(text)
      let n = short.get(text)
      if (n === undefined) {
        n = lookUp(text)
        if (short.size < SHORT_MAX) short.set(text, n)
      }
      return n
    },
    series,
    // a read-only state dir: counting again next time is the only cost
    save: Effect.suspend(() => (added.length === 0 ? Effect.void : Effect.ignore(write)))
  }
}
