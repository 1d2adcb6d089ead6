/** Input values: from `--input`, a data file (`.jsonl`, `.json`, `.csv`) or a default. */

import { dirname, isAbsolute, relative, resolve as resolvePath } from "node:path"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import { DataError, readDataFile } from "./DataFiles.ts"
import type { Diagnostic } from "./Diagnostics.ts"
import type { InputSpec } from "./Pipeline.ts"

export interface InputOverride {
  readonly name: string
  /** A literal value, or `@path` to read a data file. */
  readonly raw: string
}

/** Where an input's list came from: its data file, and the line each element starts on. */
export interface InputRows {
  readonly file: string
  readonly lines: ReadonlyArray<number>
}

export interface ResolvedInputs {
  readonly values: Record<string, unknown>
  /** Data files read, with their hashes (for saved plans). */
  readonly files: Record<string, string>
  /** For inputs read from a data file as a list: where each element is. */
  readonly rows: Record<string, InputRows>
  /** Inputs whose value is a data file's, as read: the file's hash, which stands for the value. */
  readonly fromFiles: Record<string, string>
  readonly diagnostics: Diagnostic[]
}

const typeOf = (v: unknown): string =>
  Array.isArray(v) ? "array" : v === null ? "null" : typeof v === "object" ? "object" : typeof v

const coerce = (raw: string, type: InputSpec["type"]): unknown => {
  if (type === "number") {
    const n = Number(raw)
    return Number.isFinite(n) && raw.trim() !== "" ? n : raw
  }
  if (type === "boolean") return raw === "true" ? true : raw === "false" ? false : raw
  if (type === "array" || type === "object") {
    try {
      return JSON.parse(raw)
    } catch {
      return raw
    }
  }
  return raw
}

export interface InputsContext {
  /** `--input NAME=@file` paths resolve here; data-file paths in diagnostics are shown relative to it. */
  readonly cwd: string
  readonly pipelineDisplay: string
  /** Position of an input's key, or of one of its fields, in the pipeline (for diagnostics). */
  readonly locate: (name: string, field?: "from" | "default") => { line: number; col: number }
}

/** Reads inputs, collecting diagnostics and the hashes of the data files read. */
interface Collector {
  readonly ctx: InputsContext
  readonly files: Record<string, string>
  readonly rows: Record<string, InputRows>
  readonly fromFiles: Record<string, string>
  readonly diagnostics: Diagnostic[]
}

const at = (
  c: Collector,
  name: string,
  field: "from" | "default" | undefined,
  message: string,
  rule: string
) => {
  const p = c.ctx.locate(name, field)
  c.diagnostics.push({ file: c.ctx.pipelineDisplay, line: p.line, col: p.col, message, rule })
}

const displayOf = (c: Collector, abs: string) => {
  const rel = relative(c.ctx.cwd, abs)
  return rel.startsWith("..") || isAbsolute(rel) ? abs : rel
}

/** A data file's value, or undefined with a diagnostic (in the data file, or via `onUnreadable`). */
const readData = (
  c: Collector,
  name: string,
  abs: string,
  onUnreadable: (reason: string) => void
): Effect.Effect<unknown, never, FileSystem.FileSystem> => {
  const display = displayOf(c, abs)
  return readDataFile(abs).pipe(
    Effect.map(({ value, sha256, lines }): unknown => {
      c.files[display] = sha256
      c.fromFiles[name] = sha256
      if (lines !== undefined) c.rows[name] = { file: display, lines }
      return value
    }),
    Effect.catch((e) =>
      Effect.sync(() => {
        if (e instanceof DataError)
          c.diagnostics.push({
            file: display,
            line: e.line,
            col: e.col,
            message: e.message,
            rule: "input-file"
          })
        else onUnreadable(e.message)
        return undefined
      })
    )
  )
}

/** Whether `path`, symlinks resolved, is inside `dir` (also resolved). A missing path is judged as written. */
const isInside = Effect.fnUntraced(function* (dir: string, path: string) {
  const fs = yield* FileSystem.FileSystem
  const real = (p: string) => fs.realPath(p).pipe(Effect.orElseSucceed(() => p))
  const rel = relative(yield* real(dir), yield* real(path))
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel))
})

const unknownOverrides = (
  specs: Readonly<Record<string, InputSpec>>,
  overrides: ReadonlyArray<InputOverride>
): Diagnostic[] =>
  overrides
    .filter((o) => !(o.name in specs))
    .map((o) => ({
      file: "<command line>",
      line: 1,
      col: 1,
      message: `--input ${o.name}: the pipeline has no input "${o.name}"${Object.keys(specs).length > 0 ? `; inputs: ${Object.keys(specs).join(", ")}` : ""}`,
      rule: "unknown-input"
    }))

/** One input's value: the override, else its data file, else its default; undefined when it has none. */
const inputValue = Effect.fnUntraced(function* (
  c: Collector,
  name: string,
  spec: InputSpec,
  override: InputOverride | undefined,
  pipelineFile: string
) {
  if (override !== undefined) {
    if (!override.raw.startsWith("@")) return coerce(override.raw, spec.type)
    const abs = resolvePath(c.ctx.cwd, override.raw.slice(1))
    return yield* readData(c, name, abs, (reason) =>
      c.diagnostics.push({
        file: displayOf(c, abs),
        line: 1,
        col: 1,
        message: `cannot read the data file: ${reason}`,
        rule: "input-file"
      })
    )
  }
  if (spec.from !== undefined && "default" in spec) {
    at(
      c,
      name,
      "default",
      `input "${name}" has both "from" and "default": its value comes from one place; drop one`,
      "input-source"
    )
    return undefined
  }
  if (spec.from !== undefined) {
    const from = spec.from
    const abs = resolvePath(dirname(pipelineFile), from)
    // a pipeline (say, a pull request's) reads data beside it, never files elsewhere on the machine
    if (!(yield* isInside(dirname(pipelineFile), abs))) {
      at(
        c,
        name,
        "from",
        `input "${name}": data file ${from} is outside the pipeline's folder; keep data beside the pipeline, or give it with --input ${name}=@${from}`,
        "input-file"
      )
      return undefined
    }
    return yield* readData(c, name, abs, (reason) =>
      at(c, name, "from", `input "${name}": data file ${from} ${reason}`, "input-file")
    )
  }
  if ("default" in spec) return spec.default
  at(c, name, undefined, `input "${name}" has no value: give --input ${name}=… or a default`, "missing-input")
  return undefined
})

const checkType = (c: Collector, name: string, spec: InputSpec, value: unknown, overridden: boolean) => {
  if (spec.type === undefined || typeOf(value) === spec.type) return
  at(
    c,
    name,
    overridden ? undefined : spec.from !== undefined ? "from" : "default",
    `input "${name}" must be ${spec.type === "array" ? "a list" : `a ${spec.type}`}, got ${typeOf(value)}`,
    "input-type"
  )
}

/** Every input's value, with a diagnostic for each problem (file:line:col in the pipeline or the data file). */
export const resolveInputs = Effect.fnUntraced(function* (
  specs: Readonly<Record<string, InputSpec>>,
  pipelineFile: string,
  overrides: ReadonlyArray<InputOverride>,
  ctx: InputsContext
) {
  const c: Collector = {
    ctx,
    files: {},
    rows: {},
    fromFiles: {},
    diagnostics: unknownOverrides(specs, overrides)
  }
  const values: Record<string, unknown> = {}
  for (const [name, spec] of Object.entries(specs)) {
    const override = overrides.find((o) => o.name === name)
    const value = yield* inputValue(c, name, spec, override, pipelineFile)
    if (value === undefined) continue
    checkType(c, name, spec, value, override !== undefined)
    values[name] = value
  }
  return {
    values,
    files: c.files,
    rows: c.rows,
    fromFiles: c.fromFiles,
    diagnostics: c.diagnostics
  } satisfies ResolvedInputs
})
