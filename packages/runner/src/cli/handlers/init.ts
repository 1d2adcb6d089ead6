/** Writes the starter pipeline and its data; refuses to overwrite anything. */
import { dirname, join, relative, resolve, sep } from "node:path"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import { SCHEMA_PATH } from "../../dsl/SchemaCheck.ts"
import { FileFailed, InputInvalid } from "../../Errors.ts"
import { Io } from "../Io.ts"

export interface InitFlags {
  readonly dir: Option.Option<string>
}

/** Where the schema is installed in a project that depends on the runner. */
const INSTALLED = join("node_modules", "@tollgate", "runner", "schemas", "pipeline.schema.json")

/**
 * The modeline's schema path, relative to the pipeline's folder: the project's installed copy in
 * the nearest `node_modules` above it, else the schema of the runner that is running (npx, a
 * global install). Editors resolve it from the file's folder, so it works from any depth.
 */
export const schemaRef = Effect.fnUntraced(function* (dir: string) {
  const fs = yield* FileSystem.FileSystem
  for (let at = dir; ; at = dirname(at)) {
    if (yield* fs.exists(join(at, INSTALLED))) return toPosix(relative(dir, join(at, INSTALLED)))
    if (dirname(at) === at) break
  }
  return toPosix(relative(dir, SCHEMA_PATH))
})

const toPosix = (p: string) => {
  const posix = p.split(sep).join("/")
  return posix.startsWith(".") ? posix : `./${posix}`
}

export const pipelineText = (schema: string) => `# yaml-language-server: $schema=${schema}
version: 1
name: starter
description: Summarize each note in one sentence, then write a digest; on a free model, with a budget of $0.
budget: { max_cost_usd: 0, max_free_requests: 10 }
inputs:
  notes: { type: array, from: notes.jsonl, description: "One note a line, as JSON with a text field." }
steps:
  - id: summarize
    for_each: inputs.notes
    as: note
    model: openai/gpt-oss-20b:free
    max_tokens: 120
    prompt: |
      Summarize this note in one sentence:
      {{ note.text }}
  - id: digest
    model: openai/gpt-oss-20b:free
    max_tokens: 200
    prompt: |
      Write a three-line digest of these summaries:
      {% for s in steps.summarize.outputs %}- {{ s }}
      {% endfor %}
outputs:
  digest: "{{ steps.digest.output }}"
`

export const NOTES = `${[
  "Free models allow 20 requests a minute and 50 a day until $10 of credits are bought.",
  "A plan says what a run will cost before it starts, and a budget of $0 keeps it free.",
  "Runs record every answer as it arrives, so an interrupted run resumes without paying twice."
]
  .map((text) => JSON.stringify({ text }))
  .join("\n")}\n`

export const handle = Effect.fn("runner init")(function* (flags: InitFlags) {
  yield* write(flags).pipe(Effect.mapError((e) => (e._tag === "PlatformError" ? FileFailed.of(e) : e)))
})

const write = Effect.fnUntraced(function* (flags: InitFlags) {
  const io = yield* Io
  const dir = resolve(
    io.cwd,
    Option.getOrElse(flags.dir, () => ".")
  )
  const fs = yield* FileSystem.FileSystem
  const files: Array<[string, string]> = [
    [join(dir, "pipeline.yaml"), pipelineText(yield* schemaRef(dir))],
    [join(dir, "notes.jsonl"), NOTES]
  ]
  const shown = (p: string) => relative(io.cwd, p) || p
  const taken: Array<[string, string]> = []
  for (const file of files) if (yield* fs.exists(file[0])) taken.push(file)
  if (taken.length > 0)
    return yield* new InputInvalid({
      message: `${taken.map(([p]) => shown(p)).join(" and ")} already exist${taken.length === 1 ? "s" : ""}; nothing was written (runner init never overwrites)`
    })
  yield* fs.makeDirectory(dir, { recursive: true })
  for (const [p, text] of files) yield* fs.writeFileString(p, text, { flag: "wx" })
  const pipeline = shown(files[0]![0])
  io.out(
    `wrote ${pipeline} and ${shown(files[1]![0])}\nnext: runner plan ${pipeline}   (what it will cost; sends nothing)\n      runner run ${pipeline} --echo   (try it locally, no key)\n`
  )
})
