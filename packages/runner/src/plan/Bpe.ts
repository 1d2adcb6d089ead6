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

/** Ranks by token, each token's bytes as a latin1 string (one char per byte). */
export type Ranks = ReadonlyMap<string, number>

/** Reads the ranks file. */
export const loadRanks = (file: string): Ranks => {
  const buf = SyncFiles.readBytes(file)
  const ranks = new Map<string, number>()
  let pos = 0
  let rank = 0
  while (pos < buf.length) {
    const len = buf[pos]!
    ranks.set(buf.toString("latin1", pos + 1, pos + 1 + len), rank++)
    pos += 1 + len
  }
  return ranks
}

const NONE = 0x7fffffff

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
  const rankOf = (i: number): number =>
    i + 2 < len ? (ranks.get(bytes.slice(starts[i]!, starts[i + 2]!)) ?? NONE) : NONE
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
      if (ranks.has(bytes)) {
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
