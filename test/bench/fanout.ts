/** The fan-out the run benchmarks send: N items of one short prompt each, 64 in flight. */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** A dir holding `p.yaml` and its `items.jsonl` of N rows; `provider` adds a provider line. */
export const fanOutDir = (n: number, provider?: string): string => {
  const dir = mkdtempSync(join(tmpdir(), "tg-bench-run-"))
  const rows = Array.from({ length: n }, (_, i) => JSON.stringify({ id: i, text: `item number ${i}` }))
  writeFileSync(join(dir, "items.jsonl"), `${rows.join("\n")}\n`)
  writeFileSync(
    join(dir, "p.yaml"),
    [
      "version: 1",
      "name: run-bench",
      ...(provider !== undefined ? [provider] : []),
      "inputs:",
      "  items: { type: array, from: items.jsonl }",
      "limits: { concurrency: 64 }",
      "steps:",
      "  - id: each",
      "    for_each: inputs.items",
      "    model: openai/gpt-4o-mini",
      '    prompt: "Say something about {{ item.text }}"',
      "    max_tokens: 50",
      ""
    ].join("\n")
  )
  return dir
}
