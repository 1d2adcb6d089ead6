/** The count-only o200k encoder agrees with gpt-tokenizer's, and its ranks file is in step with the tiktoken data. */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { counter, loadRanks } from "@tollgate/runner/plan/Bpe"
import { RANKS_FILE } from "@tollgate/runner/plan/TokenEstimate"
import { countTokens } from "gpt-tokenizer/encoding/o200k_base"
import { describe, expect, it } from "vitest"

const count = counter(loadRanks(RANKS_FILE))

const TEXTS = [
  "hello world",
  "  multiple   spaces\n\n\tand tabs\r\n",
  "Ünïcode naïve café 日本語のテキスト 😀👍🏽 مرحبا Привет",
  "function f(x) { return x*2; } // code\n\tif (a && b) {}",
  "1234567890 3.14159 -42 1e-9",
  "don't won't I'll we've they're HE'S",
  "https://example.com/a/b?c=d&e=f#frag",
  `{"json": [1, 2, {"k": "v"}], "n": null}`,
  "a".repeat(300),
  "ÀÉÎÕÜ ÇÑ\u0000\u0001 control",
  "The quick brown fox jumps over the lazy dog. ".repeat(20)
]

describe("the o200k counter", () => {
  it("counts as gpt-tokenizer does: a corpus, and 2,000 random texts", () => {
    for (const t of TEXTS) expect(count(t), t).toBe(countTokens(t))
    const alphabet = [..."abcXYZ 019\n\t.,;'\"éü日本😀-_/\\()[]{}!?@#$%^&*+=<>|~`"]
    let seed = 7
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed / 2147483648
    }
    for (let k = 0; k < 2000; k++) {
      const text = Array.from(
        { length: Math.floor(random() * 60) },
        () => alphabet[Math.floor(random() * alphabet.length)]
      ).join("")
      expect(count(text), JSON.stringify(text)).toBe(countTokens(text))
    }
  })

  it("a special token's text is counted as text (gpt-tokenizer refuses it; a provider reads it as text)", () => {
    expect(() => countTokens("<|endoftext|>")).toThrow()
    expect(count("<|endoftext|>")).toBeGreaterThan(1)
  })

  it("the ranks file is the tiktoken data, rank by rank (node packages/runner/scripts/o200k.mjs rewrites it)", () => {
    const pkg = dirname(createRequire(import.meta.url).resolve("gpt-tokenizer/package.json"))
    const lines = readFileSync(join(pkg, "data", "o200k_base.tiktoken"), "latin1")
      .split("\n")
      .filter(Boolean)
    const ranks = loadRanks(RANKS_FILE)
    expect(ranks.size).toBe(lines.length)
    for (const line of lines) {
      const [b64, rank] = line.split(" ")
      expect(ranks.get(Buffer.from(b64!, "base64").toString("latin1"))).toBe(Number(rank))
    }
  })
})
