/**
 * A count-only o200k byte-pair encoder: how many tokens a text is, without building the tokens.
 * The same split and merges as OpenAI's tiktoken (and gpt-tokenizer, which the tests hold it to),
 * over ranks loaded from `data/o200k_base.bin` (one length byte and the token's bytes per rank, in
 * rank order: `scripts/o200k.mjs` writes it). Loading that takes a fraction of the memory and time
 * of a tokenizer's JavaScript tables. Special tokens (`<|endoftext|>`) are counted as the text they
 * are, as a provider counts a prompt.
 */
import * as SyncFiles from "@tollgate/core/SyncFiles"

const CONTRACTION = "(?:'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE]))?"

/** o200k's pre-tokenizer: words (with their leading punctuation and contractions), 1-3 digits, punctuation runs, whitespace. */
const SPLIT = new RegExp(
  String.raw`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+${CONTRACTION}|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*${CONTRACTION}|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
  "gu"
)

const NONE = 0x7fffffff

/**
 * Ranks by token: an open-addressing table over the ranks file's own bytes, found by a hash of a
 * token's bytes. A token is asked for as a range of a latin1 string (one char per byte), so a
 * merge asks for a pair without cutting a string out of the piece. Built in a few milliseconds,
 * where a `Map` of 200,000 strings took ~150 ms and ~30 MB.
 */
export class Ranks {
  /** How many tokens. */
  readonly size: number
  private readonly bytes: Uint8Array
  /** Where each rank's bytes start in `bytes`, and how many they are. */
  private readonly starts: Int32Array
  private readonly lengths: Uint8Array
  /** rank + 1 in each used slot, 0 in a free one. */
  private readonly slots: Int32Array
  private readonly mask: number

  constructor(file: Uint8Array) {
    let count = 0
    for (let pos = 0; pos < file.length; pos += 1 + file[pos]!) count++
    this.size = count
    this.bytes = file
    this.starts = new Int32Array(count)
    this.lengths = new Uint8Array(count)
    let slots = 1
    while (slots < count * 2) slots *= 2
    this.slots = new Int32Array(slots)
    this.mask = slots - 1
    for (let pos = 0, rank = 0; rank < count; pos += 1 + file[pos]!, rank++) {
      this.starts[rank] = pos + 1
      this.lengths[rank] = file[pos]!
      let h = 0x811c9dc5
      for (let i = pos + 1; i < pos + 1 + file[pos]!; i++) h = Math.imul(h ^ file[i]!, 0x01000193)
      let slot = h & this.mask
      while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask
      this.slots[slot] = rank + 1
    }
  }

  /** The rank of the token whose bytes are `text`'s chars from `from` to `to` (latin1), or `NONE`. */
  rankOf(text: string, from: number, to: number): number {
    let h = 0x811c9dc5
    for (let i = from; i < to; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
    for (let slot = h & this.mask; ; slot = (slot + 1) & this.mask) {
      const r = this.slots[slot]! - 1
      if (r < 0) return NONE
      if (this.lengths[r] === to - from && this.holds(r, text, from)) return r
    }
  }

  /** The rank of a token given as a latin1 string, or undefined. */
  get(token: string): number | undefined {
    const r = this.rankOf(token, 0, token.length)
    return r === NONE ? undefined : r
  }

  private holds(rank: number, text: string, from: number): boolean {
    const start = this.starts[rank]!
    for (let i = 0; i < this.lengths[rank]!; i++)
      if (this.bytes[start + i] !== text.charCodeAt(from + i)) return false
    return true
  }
}

/** Reads the ranks file. */
export const loadRanks = (file: string): Ranks => new Ranks(SyncFiles.readBytes(file))

/**
 * Tokens of one pre-token (its UTF-8 bytes as latin1): merge the adjacent pair of lowest rank,
 * the leftmost of equals, until no pair is a token; as tiktoken's `byte_pair_merge`.
 */
const mergeCount = (bytes: string, ranks: Ranks): number => {
  const n = bytes.length
  const starts = new Int32Array(n + 1)
  for (let i = 0; i <= n; i++) starts[i] = i
  let len = n + 1
  const pair = new Int32Array(n + 1)
  const rankOf = (i: number): number => (i + 2 < len ? ranks.rankOf(bytes, starts[i]!, starts[i + 2]!) : NONE)
  for (let i = 0; i < len; i++) pair[i] = rankOf(i)
  for (;;) {
    let min = NONE
    let at = -1
    for (let i = 0; i < len - 2; i++)
      if (pair[i]! < min) {
        min = pair[i]!
        at = i
      }
    if (at < 0) break
    starts.copyWithin(at + 1, at + 2, len)
    pair.copyWithin(at + 1, at + 2, len)
    len--
    pair[at] = rankOf(at)
    if (at > 0) pair[at - 1] = rankOf(at - 1)
  }
  return len - 1
}

/** Whether a piece is ASCII: then its UTF-8 bytes as latin1 are the piece itself (no Buffer round trip). */
const isAscii = (s: string): boolean => {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false
  return true
}

/** Pieces that are not one token, with their counts, kept for the next text (cleared when full). */
const MERGED_MAX = 50_000

/** The number of o200k tokens of `text`: one pass of the split, a rank lookup per piece, merges only for pieces not seen before. */
export const counter = (ranks: Ranks) => {
  const merged = new Map<string, number>()
  return (text: string): number => {
    let n = 0
    SPLIT.lastIndex = 0
    for (let m = SPLIT.exec(text); m !== null; m = SPLIT.exec(text)) {
      const piece = m[0]
      const bytes = isAscii(piece) ? piece : Buffer.from(piece, "utf8").toString("latin1")
      if (ranks.rankOf(bytes, 0, bytes.length) !== NONE) {
        n++
        continue
      }
      let c = merged.get(bytes)
      if (c === undefined) {
        c = mergeCount(bytes, ranks)
        if (merged.size >= MERGED_MAX) merged.clear()
        merged.set(bytes, c)
      }
      n += c
    }
    return n
  }
}
