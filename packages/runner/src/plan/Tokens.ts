/**
 * Token estimates. `expected` uses a BPE tokenizer (o200k, gpt-tokenizer); `max` is a bound that
 * holds for any tokenizer: a token is at least one UTF-8 byte, so a text has at most as many
 * tokens as bytes. Chat framing adds a few tokens per message.
 */
import { countTokens } from "gpt-tokenizer/encoding/o200k_base"

/** Tokens a chat format adds per message (role and separators), and once per request. */
export const PER_MESSAGE_EXPECTED = 4
export const PER_REQUEST_EXPECTED = 3
/** The bound's framing allowance per message, generous for any chat template. */
export const PER_MESSAGE_MAX = 16

export const expectedTokens = (text: string): number => (text === "" ? 0 : countTokens(text))
export const maxTokens = (text: string): number => Buffer.byteLength(text, "utf8")
