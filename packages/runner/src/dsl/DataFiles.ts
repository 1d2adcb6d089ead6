/** Data files for inputs: JSON Lines, JSON and CSV, parsed with the file's own line and column on error. Pure but for the read. */
import { readFileSync } from "node:fs"
import { sha256 } from "@tollgate/core/Fingerprint"

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
  const hash = sha256(text)
  if (path.endsWith(".jsonl")) return { value: parseJsonl(text), sha256: hash }
  if (path.endsWith(".json")) return { value: parseJson(text), sha256: hash }
  if (path.endsWith(".csv")) return { value: parseCsv(text), sha256: hash }
  throw new DataError("unsupported data file: use .jsonl, .json or .csv", 1, 1)
}
