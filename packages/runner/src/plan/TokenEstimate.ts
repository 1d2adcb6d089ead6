/**
 * Token estimates. `expected` counts o200k tokens (`Bpe.ts`, a count-only byte-pair encoder);
 * `max` is a bound that holds for any tokenizer: a token is at least one UTF-8 byte, so a text has
 * at most as many tokens as bytes. Chat framing adds a few tokens per message.
 */
import { fileURLToPath } from "node:url"
import { counter, loadRanks } from "./Bpe.ts"

/** The ranks file, beside the package (from `src/plan/`, `dist/plan/` and `dist/bundle/` alike). */
export const RANKS_FILE = fileURLToPath(new URL("../../data/o200k_base.bin", import.meta.url))

/** The o200k ranks take ~100 ms and ~30 MB to load: loaded on the first text counted, not before. */
let tokenizer: ((text: string) => number) | undefined
const countTokens = (text: string): number => {
  tokenizer ??= counter(loadRanks(RANKS_FILE))
  return tokenizer(text)
}

/** Tokens a chat format adds per message (role and separators), and once per request. */
export const PER_MESSAGE_EXPECTED = 4
export const PER_REQUEST_EXPECTED = 3
/** The bound's framing allowance per message, generous for any chat template. */
export const PER_MESSAGE_MAX = 16

/**
 * BPE merging is quadratic in the length of one pre-token, and a long run without whitespace
 * (base64, minified JSON, a pasted hash) is one pre-token: such runs are counted in pieces of
 * `MAX_RUN` characters, which keeps counting linear (1 MB in well under a second) and changes
 * the count by at most a token per piece.
 */
export const MAX_RUN = 256
const LONG_RUN = new RegExp(`\\S{${MAX_RUN},}`, "g")

const count = (text: string): number => (text === "" ? 0 : countTokens(text))

/** Whether a text has a run of `MAX_RUN` characters without whitespace (a scan, cheaper than the regex). */
const hasLongRun = (text: string): boolean => {
  if (text.length < MAX_RUN) return false
  let run = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    // space, tab, line breaks, and the other whitespace the pre-tokenizer splits on
    if (
      c <= 32 ||
      c === 0x85 ||
      c === 0xa0 ||
      (c >= 0x2000 && c <= 0x200a) ||
      c === 0x2028 ||
      c === 0x2029 ||
      c === 0x3000
    )
      run = 0
    else if (++run >= MAX_RUN) return true
  }
  return false
}

export const expectedTokens = (text: string): number => {
  if (text === "") return 0
  if (!hasLongRun(text)) return countTokens(text)
  let total = 0
  let last = 0
  for (const m of text.matchAll(LONG_RUN)) {
    total += count(text.slice(last, m.index))
    for (let i = 0; i < m[0].length; i += MAX_RUN) total += count(m[0].slice(i, i + MAX_RUN))
    last = m.index + m[0].length
  }
  return total + count(text.slice(last))
}
export const maxTokens = (text: string): number => Buffer.byteLength(text, "utf8")

/** A request's expected prompt tokens: its messages' texts, and the chat framing. */
export const expectedRequestTokens = (
  messages: ReadonlyArray<{ readonly content: string }>,
  tokens: (text: string) => number = expectedTokens
): number => messages.reduce((n, m) => n + PER_MESSAGE_EXPECTED + tokens(m.content), PER_REQUEST_EXPECTED)
