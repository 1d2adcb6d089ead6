/** Data files for inputs: JSON Lines, JSON and CSV, parsed with the file's own line and column on error. Pure but for the read. */
import { readFileSync, statSync } from "node:fs"
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
  // Node quotes the text around the error ("…secret…" is not valid JSON): never print the data
  const short = message
    .replace(/ in JSON at position \d+.*$/, "")
    .replace(/\s*\(line \d+ column \d+\)/, "")
    .replace(/, ".*$/s, "")
    .replace(/ is not valid JSON$/, "")
  return new DataError(
    `invalid JSON: ${short.charAt(0).toLowerCase()}${short.slice(1)}`,
    line + lineOffset,
    col
  )
}

/** A parsed data file: its value and, for a list, the line each element starts on. */
export interface DataValue {
  readonly value: unknown
  readonly lines: ReadonlyArray<number> | undefined
}

export const parseJsonl = (text: string): DataValue => {
  const value: unknown[] = []
  const lines: number[] = []
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return
    try {
      value.push(JSON.parse(line))
      lines.push(i + 1)
    } catch (e) {
      throw jsonErrorAt(line, e, i)
    }
  })
  return { value, lines }
}

/** The line each element of a top-level JSON array starts on (the text parses). */
const arrayElementLines = (text: string): number[] => {
  const lines: number[] = []
  let depth = 0
  let line = 1
  let inString = false
  let expectElement = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (c === "\n") line++
    if (inString) {
      if (c === "\\") i++
      else if (c === '"') inString = false
      continue
    }
    if (depth === 1 && expectElement && !/[\s,\]]/.test(c)) {
      lines.push(line)
      expectElement = false
    }
    if (c === '"') inString = true
    else if (c === "[" || c === "{") depth++
    else if (c === "]" || c === "}") depth--
    if (depth === 1 && (c === "[" || c === ",")) expectElement = true
  }
  return lines
}

export const parseJson = (text: string): DataValue => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    throw jsonErrorAt(text, e)
  }
  return { value, lines: Array.isArray(value) ? arrayElementLines(text) : undefined }
}

/** RFC 4180 CSV with a header row; rows become objects keyed by header. */
export const parseCsv = (text: string): DataValue => {
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
  if (header === undefined) return { value: [], lines: [] }
  const blank = header.fields.findIndex((h) => h.trim() === "")
  if (blank >= 0)
    throw new DataError(`header field ${blank + 1} has no name; every column needs one`, header.line, 1)
  const twice = header.fields.findIndex((h, i) => header.fields.indexOf(h) !== i)
  if (twice >= 0) throw new DataError(`header field "${header.fields[twice]}" is named twice`, header.line, 1)
  const value = body.map((r) => {
    if (r.fields.length !== header.fields.length)
      throw new DataError(
        `row has ${r.fields.length} fields; the header has ${header.fields.length}`,
        r.line,
        1
      )
    return Object.fromEntries(header.fields.map((h, i) => [h, r.fields[i]!]))
  })
  return { value, lines: body.map((r) => r.line) }
}

/** A data file that cannot be read at all; `reason` completes "data file x …". */
export class DataFileUnreadable extends Error {
  override readonly name = "DataFileUnreadable"
}

const unreadable = (e: unknown): DataFileUnreadable => {
  const code = (e as NodeJS.ErrnoException).code
  return new DataFileUnreadable(
    code === "ENOENT"
      ? "no such file"
      : code === "EACCES"
        ? "cannot be read (permission denied)"
        : code === "EISDIR"
          ? "is a directory"
          : `cannot be read (${(e as Error).message})`
  )
}

/**
 * Reads a data file by its extension. Throws `DataError` with the file's own line and column, or
 * `DataFileUnreadable`. Only regular files are read: a FIFO or a device would hang the plan.
 */
export const readDataFile = (path: string): DataValue & { readonly sha256: string } => {
  let raw: string
  try {
    if (!statSync(path).isFile()) throw new DataFileUnreadable("is not a regular file")
    raw = readFileSync(path, "utf8")
  } catch (e) {
    throw e instanceof DataFileUnreadable ? e : unreadable(e)
  }
  // editors on some systems start UTF-8 files with a byte-order mark
  const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw
  const hash = sha256(text)
  if (path.endsWith(".jsonl")) return { ...parseJsonl(text), sha256: hash }
  if (path.endsWith(".json")) return { ...parseJson(text), sha256: hash }
  if (path.endsWith(".csv")) return { ...parseCsv(text), sha256: hash }
  throw new DataError("unsupported data file: use .jsonl, .json or .csv", 1, 1)
}
