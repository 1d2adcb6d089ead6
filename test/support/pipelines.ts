/** Small pipelines for end-to-end tests, written into a temp dir. */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** A temp dir holding `files` (name → text; a name may have folders); returns the dir. */
export const writeDir = (files: Record<string, string>, prefix = "tg-"): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
  return dir
}

/** Every file's text under `dir`. */
export const texts = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? texts(p) : [readFileSync(p, "utf8")]
  })

export interface FanOut {
  readonly model: string
  readonly items: number
  readonly maxTokens?: number
  readonly extra?: string
  readonly stepExtra?: string
}

/** A one-step fan-out over `items` inline inputs; returns the pipeline path. */
export const fanOut = (o: FanOut): string => {
  const dir = mkdtempSync(join(tmpdir(), "tg-e2e-"))
  const rows = Array.from({ length: o.items }, (_, i) => JSON.stringify({ id: i, text: `item number ${i}` }))
  writeFileSync(join(dir, "items.jsonl"), `${rows.join("\n")}\n`)
  const path = join(dir, "pipeline.yaml")
  writeFileSync(
    path,
    [
      "version: 1",
      "name: e2e",
      "inputs:",
      "  items: { type: array, from: items.jsonl }",
      o.extra ?? "",
      "steps:",
      "  - id: each",
      "    for_each: inputs.items",
      `    model: ${o.model}`,
      '    prompt: "Say something about {{ item.text }}"',
      `    max_tokens: ${o.maxTokens ?? 50}`,
      o.stepExtra ?? "",
      ""
    ].join("\n")
  )
  return path
}
