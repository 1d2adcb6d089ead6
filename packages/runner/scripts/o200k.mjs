// Writes data/o200k_base.bin, the o200k_base merge ranks in a compact form the plan loads fast:
// for each rank from 0 up, one byte of length and the token's bytes. The source is the
// tiktoken file gpt-tokenizer ships (data/o200k_base.tiktoken: base64 token, space, rank, per
// line). Run: node packages/runner/scripts/o200k.mjs (a test checks the file is in step).
import { readFileSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"

const require = createRequire(import.meta.url)
const pkg = dirname(require.resolve("gpt-tokenizer/package.json"))
const lines = readFileSync(join(pkg, "data", "o200k_base.tiktoken"), "latin1")
  .split("\n")
  .filter(Boolean)
const parts = []
lines.forEach((line, i) => {
  const [b64, rank] = line.split(" ")
  if (Number(rank) !== i) throw new Error(`rank ${rank} at line ${i}: ranks must run 0, 1, 2, …`)
  const token = Buffer.from(b64, "base64")
  if (token.length === 0 || token.length > 255) throw new Error(`token of ${token.length} bytes at rank ${i}`)
  parts.push(Buffer.from([token.length]), token)
})
writeFileSync(new URL("../data/o200k_base.bin", import.meta.url), Buffer.concat(parts))
console.log(`${lines.length} ranks`)
