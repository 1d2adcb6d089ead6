/** Input values: from `--input`, a data file (`.jsonl`, `.json`, `.csv`) or a default. */
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { dirname, isAbsolute, relative, resolve as resolvePath } from "node:path"
import type { Diagnostic } from "./Diagnostics.ts"
import type { InputSpec } from "./Pipeline.ts"

export class DataError extends Error {
  override readonly name = "DataError"
  readonly line: number
  readonly col: number
  constructor(message: string, line: number, col: number) {
    super(message)
    this.line = line
    this.col = col
  }
}

/** Line and column of a JSON.parse error in `text` (V8 reports a position). */
const jsonErrorAt = (text: string, e: unknown, lineOffset = 0): DataError => {
  const message = (e as Error).message
  const lc = /\(line (\d+) column (\d+)\)/.exec(message)
  const pos = /position (\d+)/.exec(message)
  let line = 1
  let col = 1
  if (lc) {
    line = Number(lc[1])
    col = Number(lc[2])
  } else if (pos) {
    const before = text.slice(0, Number(pos[1]))
    line = before.split("\n").length
    col = Number(pos[1]) - before.lastIndexOf("\n")
  }
  const short = message.replace(/ in JSON at position \d+.*$/, "").replace(/\s*\(line \d+ column \d+\)/, "")
  return new DataError(
    `invalid JSON: ${short.charAt(0).toLowerCase()}${short.slice(1)}`,
    line + lineOffset,
    col
  )
}

export const parseJsonl = (text: string): unknown[] => {
  const out: unknown[] = []
  const lines = text.split("\n")
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (line.trim() === "") continue
    try {
      out.push(JSON.parse(line))
    } catch (e) {
      throw jsonErrorAt(line, e, i)
    }
  }
  return out
}

export const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch (e) {
    throw jsonErrorAt(text, e)
  }
}

/** RFC 4180 CSV with a header row; rows become objects keyed by header. */
export const parseCsv = (text: string): Array<Record<string, string>> => {
  const rows: Array<{ fields: string[]; line: number }> = []
  let field = ""
  let fields: string[] = []
  let quoted = false
  let line = 1
  let rowLine = 1
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"'
          i++
        } else quoted = false
      } else {
        if (c === "\n") line++
        field += c
      }
    } else if (c === '"' && field === "") quoted = true
    else if (c === ",") {
      fields.push(field)
      field = ""
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++
      fields.push(field)
      if (!(fields.length === 1 && fields[0] === "")) rows.push({ fields, line: rowLine })
      fields = []
      field = ""
      line++
      rowLine = line
    } else field += c
  }
  if (quoted) throw new DataError("unterminated quoted field", rowLine, 1)
  if (field !== "" || fields.length > 0) {
    fields.push(field)
    rows.push({ fields, line: rowLine })
  }
  const [header, ...body] = rows
  if (header === undefined) return []
  return body.map((r) => {
    if (r.fields.length !== header.fields.length)
      throw new DataError(
        `row has ${r.fields.length} fields; the header has ${header.fields.length}`,
        r.line,
        1
      )
    return Object.fromEntries(header.fields.map((h, i) => [h, r.fields[i]!]))
  })
}

/** Reads a data file by its extension. Throws `DataError` with the file's own line and column. */
export const readDataFile = (path: string): { value: unknown; sha256: string } => {
  const raw = readFileSync(path, "utf8")
  // editors on some systems start UTF-8 files with a byte-order mark
  const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw
  const sha256 = createHash("sha256").update(text).digest("hex")
  if (path.endsWith(".jsonl")) return { value: parseJsonl(text), sha256 }
  if (path.endsWith(".json")) return { value: parseJson(text), sha256 }
  if (path.endsWith(".csv")) return { value: parseCsv(text), sha256 }
  throw new DataError("unsupported data file: use .jsonl, .json or .csv", 1, 1)
}

export interface InputOverride {
  readonly name: string
  /** A literal value, or `@path` to read a data file. */
  readonly raw: string
}

export interface ResolvedInputs {
  readonly values: Record<string, unknown>
  /** Data files read, with their hashes (for saved plans). */
  readonly files: Record<string, string>
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

/**
 * Every input's value. `locate(name, field)` gives the position of an input's key or field in the
 * pipeline, for diagnostics; `displayDir` makes data-file paths in diagnostics relative.
 */
export const resolveInputs = (
  specs: Readonly<Record<string, InputSpec>>,
  pipelineFile: string,
  overrides: ReadonlyArray<InputOverride>,
  opts: {
    readonly cwd: string
    readonly pipelineDisplay: string
    readonly locate: (name: string, field?: "from" | "default") => { line: number; col: number }
    readonly displayDir: string
  }
): ResolvedInputs => {
  const values: Record<string, unknown> = {}
  const files: Record<string, string> = {}
  const diagnostics: Diagnostic[] = []
  const at = (name: string, field: "from" | "default" | undefined, message: string, rule: string) => {
    const p = opts.locate(name, field)
    diagnostics.push({ file: opts.pipelineDisplay, line: p.line, col: p.col, message, rule })
  }
  const read = (path: string, display: string, onError: (d: Diagnostic) => void): unknown => {
    try {
      const { value, sha256 } = readDataFile(path)
      files[display] = sha256
      return value
    } catch (e) {
      if (e instanceof DataError)
        onError({ file: display, line: e.line, col: e.col, message: e.message, rule: "input-file" })
      else
        onError({
          file: display,
          line: 1,
          col: 1,
          message: `cannot read the data file: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : String(e)}`,
          rule: "input-file"
        })
      return undefined
    }
  }
  const display = (abs: string) => {
    const rel = relative(opts.displayDir, abs)
    return rel.startsWith("..") || isAbsolute(rel) ? abs : rel
  }
  for (const o of overrides) {
    if (!(o.name in specs))
      diagnostics.push({
        file: "<command line>",
        line: 1,
        col: 1,
        message: `--input ${o.name}: the pipeline has no input "${o.name}"${Object.keys(specs).length > 0 ? `; inputs: ${Object.keys(specs).join(", ")}` : ""}`,
        rule: "unknown-input"
      })
  }
  for (const [name, spec] of Object.entries(specs)) {
    const override = overrides.find((o) => o.name === name)
    let value: unknown
    if (override !== undefined) {
      if (override.raw.startsWith("@")) {
        const abs = resolvePath(opts.cwd, override.raw.slice(1))
        value = read(abs, display(abs), (d) => diagnostics.push(d))
      } else value = coerce(override.raw, spec.type)
    } else if (spec.from !== undefined) {
      const abs = resolvePath(dirname(pipelineFile), spec.from)
      value = read(abs, display(abs), (d) => {
        if (d.message.startsWith("cannot read"))
          at(
            name,
            "from",
            `input "${name}": data file ${spec.from} ${d.message.replace("cannot read the data file: ", "")}`,
            "input-file"
          )
        else diagnostics.push(d)
      })
    } else if ("default" in spec) value = spec.default
    else {
      at(
        name,
        undefined,
        `input "${name}" has no value: give --input ${name}=… or a default`,
        "missing-input"
      )
      continue
    }
    if (value === undefined) continue
    if (
      spec.type !== undefined &&
      typeOf(value) !== spec.type &&
      !(spec.type === "number" && typeof value === "number")
    )
      at(
        name,
        override ? undefined : spec.from !== undefined ? "from" : "default",
        `input "${name}" must be ${spec.type === "array" ? "a list" : `a ${spec.type}`}, got ${typeOf(value)}`,
        "input-type"
      )
    values[name] = value
  }
  return { values, files, diagnostics }
}
