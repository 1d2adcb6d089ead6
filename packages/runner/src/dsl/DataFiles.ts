/** Data files for inputs: JSON Lines, JSON and CSV, parsed with the file's own line and column on error. Pure but for the read, which goes through `FileSystem`. */

import { createHash } from "node:crypto"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import type { PlatformError } from "effect/PlatformError"

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
  const into: DataValue & { value: unknown[]; lines: number[] } = { value: [], lines: [] }
  // line by line without splitting: at 1,000,000 rows, the array of all lines is ~200 MB more at the peak
  let line = 0
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf("\n", start)
    if (end < 0) end = text.length
    takeLine(into, text.slice(start, end), ++line)
    start = end + 1
  }
  return into
}

/** One line of JSON Lines (`line` from 1) added to `into`, unless blank; bad JSON throws with its line and column. */
const takeLine = (into: { value: unknown[]; lines: number[] }, raw: string, line: number): void => {
  if (raw.trim() === "") return
  try {
    into.value.push(JSON.parse(raw))
    into.lines.push(line)
  } catch (e) {
    throw jsonErrorAt(raw, e, line - 1)
  }
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

/**
 * JSON Lines fed in chunks of bytes, hashed and parsed as they come, never whole in memory. A
 * newline byte is never inside a UTF-8 character, so each chunk's whole lines decode alone,
 * natively; the bytes after its last newline wait for the next chunk. Throws `DataError`.
 */
const BOM = Buffer.from([0xef, 0xbb, 0xbf])

export const jsonlParser = () => {
  const hash = createHash("sha256")
  const into = { value: [] as unknown[], lines: [] as number[] }
  let line = 0
  let rest = Buffer.alloc(0)
  let first = true
  let head = Buffer.alloc(0)
  return {
    push(chunk: Buffer): void {
      let part = chunk
      if (first) {
        // a byte-order mark is not data: held until its three bytes can be told apart, however the bytes come
        part = head.length > 0 ? Buffer.concat([head, part]) : part
        if (part.length < 3 && BOM.subarray(0, part.length).equals(part)) {
          head = Buffer.from(part)
          return
        }
        head = Buffer.alloc(0)
        first = false
        if (part.subarray(0, 3).equals(BOM)) part = part.subarray(3)
      }
      hash.update(part)
      let from = 0
      if (rest.length > 0) {
        // the line the last chunk began ends in this one (only its bytes are joined, not the chunk)
        const nl = part.indexOf(0x0a)
        if (nl < 0) {
          rest = Buffer.concat([rest, part])
          return
        }
        takeLine(into, Buffer.concat([rest, part.subarray(0, nl)]).toString("utf8"), ++line)
        from = nl + 1
      }
      const last = part.lastIndexOf(0x0a)
      if (last >= from) {
        const text = part.toString("utf8", from, last)
        let start = 0
        for (let end = text.indexOf("\n"); end >= 0; end = text.indexOf("\n", start)) {
          takeLine(into, text.slice(start, end), ++line)
          start = end + 1
        }
        takeLine(into, text.slice(start), ++line)
      }
      // a copy: the chunk is read into again
      rest = Buffer.from(part.subarray(Math.max(from, last + 1)))
    },
    end(): DataValue & { readonly sha256: string } {
      if (head.length > 0) {
        // a file of one or two bytes that begin a mark: they are data
        const held = head
        head = Buffer.alloc(0)
        first = false
        this.push(held)
      }
      if (rest.length > 0) takeLine(into, rest.toString("utf8"), ++line)
      return { ...into, sha256: hash.digest("hex") }
    }
  }
}

/** A data file that cannot be read at all; `reason` completes "data file x …". */
export class DataFileUnreadable extends Error {
  override readonly name = "DataFileUnreadable"
}

const unreadable = (e: PlatformError): DataFileUnreadable =>
  new DataFileUnreadable(
    e.reason._tag === "NotFound"
      ? "no such file"
      : e.reason._tag === "PermissionDenied"
        ? "cannot be read (permission denied)"
        : `cannot be read (${e.message})`
  )

/** Runs a parse: its `DataError` fails the effect; anything else is a defect. */
const parsing = <A>(f: () => A): Effect.Effect<A, DataError> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(f())
    } catch (e) {
      return e instanceof DataError ? Effect.fail(e) : Effect.die(e)
    }
  })

/** A JSON Lines file read in 1 MB chunks. */
const readJsonl = (fs: FileSystem.FileSystem, path: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      const file = yield* fs.open(path, { flag: "r" }).pipe(Effect.mapError(unreadable))
      const parser = jsonlParser()
      const chunk = Buffer.allocUnsafe(1 << 20)
      for (;;) {
        const n = yield* file.read(chunk).pipe(Effect.mapError(unreadable))
        if (n === 0) break
        yield* parsing(() => parser.push(chunk.subarray(0, Number(n))))
      }
      return yield* parsing(() => parser.end())
    })
  )

/** A whole data file's value: JSON or CSV by its extension. */
const parseWhole = (path: string, buf: Buffer): DataValue & { readonly sha256: string } => {
  // editors on some systems start UTF-8 files with a byte-order mark
  const bom = buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf
  const body = bom ? buf.subarray(3) : buf
  const text = body.toString("utf8")
  // the bytes' hash is the text's when the file is valid UTF-8 (as sha256(text) re-encodes it)
  const hash = createHash("sha256").update(body).digest("hex")
  if (path.endsWith(".json")) return { ...parseJson(text), sha256: hash }
  if (path.endsWith(".csv")) return { ...parseCsv(text), sha256: hash }
  throw new DataError("unsupported data file: use .jsonl, .json or .csv", 1, 1)
}

/**
 * Reads a data file by its extension. Fails with `DataError` at the file's own line and column,
 * or `DataFileUnreadable`. Only regular files are read: a FIFO or a device would hang the plan.
 */
export const readDataFile = Effect.fnUntraced(function* (path: string) {
  const fs = yield* FileSystem.FileSystem
  const info = yield* fs.stat(path).pipe(Effect.mapError(unreadable))
  if (info.type !== "File") return yield* Effect.fail(new DataFileUnreadable("is not a regular file"))
  if (path.endsWith(".jsonl")) return yield* readJsonl(fs, path)
  const bytes = yield* fs.readFile(path).pipe(Effect.mapError(unreadable))
  return yield* parsing(() => parseWhole(path, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)))
})
