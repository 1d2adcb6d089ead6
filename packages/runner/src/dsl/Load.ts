/**
 * Reads a pipeline YAML file into a document that knows where every value came from. Refuses
 * fast what no pipeline needs: files over 1 MiB, alias bombs, absurd nesting.
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import { type Document, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml"
import type { Diagnostic } from "./Diagnostics.ts"

export const MAX_PIPELINE_BYTES = 1024 * 1024
export const MAX_ALIASES = 100
export const MAX_DEPTH = 64

export type Path = ReadonlyArray<string | number>

export interface Loaded {
  readonly file: string
  readonly source: string
  readonly doc: Document
  readonly lines: LineCounter
  readonly value: unknown
}

export interface Position {
  readonly line: number
  readonly col: number
}

/** Line and column (1-based) of a source offset. */
export const positionAt = (loaded: Pick<Loaded, "lines">, offset: number): Position => {
  const p = loaded.lines.linePos(offset)
  return { line: p.line, col: p.col }
}

const depthOf = (node: unknown, depth = 0): number => {
  if (depth > MAX_DEPTH) return depth
  if (isMap(node) || isSeq(node)) {
    let max = depth
    for (const item of node.items) {
      const child = isPair(item) ? item.value : item
      max = Math.max(max, depthOf(child, depth + 1))
      if (max > MAX_DEPTH) break
    }
    return max
  }
  return depth
}

const diagnosticAt =
  (file: string) =>
  (line: number, col: number, message: string, rule: string): Diagnostic => ({
    file,
    line,
    col,
    message,
    rule
  })

type LoadResult = { readonly loaded: Loaded | undefined; readonly diagnostics: Diagnostic[] }

/** Loads `file` (display name `displayName`); returns the document or the diagnostics that stop it. */
export const loadFile = Effect.fnUntraced(function* (path: string, displayName: string) {
  const fs = yield* FileSystem.FileSystem
  const refused = (message: string, rule = "file"): LoadResult => ({
    loaded: undefined,
    diagnostics: [diagnosticAt(displayName)(1, 1, message, rule)]
  })
  const info = yield* fs.stat(path).pipe(Effect.orElseSucceed(() => undefined))
  if (info === undefined) return refused("cannot read the pipeline: no such file")
  if (info.type !== "File")
    return refused(
      `cannot read the pipeline: ${info.type === "Directory" ? "it is a directory" : "not a regular file"}`
    )
  const size = Number(info.size)
  if (size > MAX_PIPELINE_BYTES)
    return refused(
      `the pipeline is ${size} bytes; pipelines are limited to ${MAX_PIPELINE_BYTES} (put data in an input file)`,
      "file-too-large"
    )
  const text = yield* fs.readFileString(path).pipe(Effect.orElseSucceed(() => undefined))
  if (text === undefined) return refused("cannot read the pipeline: it cannot be read")
  return loadText(text, displayName)
})

/** Parses a pipeline's text (shown as `displayName`); returns the document or the diagnostics that stop it. Pure. */
export const loadText = (
  source: string,
  displayName: string
): { readonly loaded: Loaded | undefined; readonly diagnostics: Diagnostic[] } => {
  const at = diagnosticAt(displayName)
  const lines = new LineCounter()
  const doc = parseDocument(source, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
    strict: true
  })
  const diagnostics: Diagnostic[] = []
  for (const e of [...doc.errors, ...doc.warnings]) {
    const p = lines.linePos(e.pos[0])
    const message = e.message
      .split("\n")[0]!
      .replace(/ at line \d+, column \d+:?$/, "")
      .replace(/^./, (c) => c.toLowerCase())
    diagnostics.push(at(p.line, p.col, message, e.code === "DUPLICATE_KEY" ? "duplicate-key" : "yaml-syntax"))
  }
  if (diagnostics.length > 0) return { loaded: undefined, diagnostics }
  if (depthOf(doc.contents) > MAX_DEPTH)
    return {
      loaded: undefined,
      diagnostics: [at(1, 1, `the document nests deeper than ${MAX_DEPTH} levels`, "too-deep")]
    }
  let value: unknown
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIASES })
  } catch (e) {
    const message = (e as Error).message
    return {
      loaded: undefined,
      diagnostics: [
        at(
          1,
          1,
          /alias/i.test(message)
            ? `too many aliases (more than ${MAX_ALIASES} expansions): refused`
            : message.toLowerCase(),
          "too-many-aliases"
        )
      ]
    }
  }
  return { loaded: { file: displayName, source, doc, lines, value }, diagnostics: [] }
}

/** The node at `path` and, when the last segment is a map key, the key's node. */
export const nodeAt = (
  loaded: Loaded,
  path: Path
): { node: Node | undefined; key: Node | undefined; parent: Node | undefined } => {
  let node: unknown = loaded.doc.contents
  let key: Node | undefined
  let parent: Node | undefined
  for (const seg of path) {
    parent = node as Node
    key = undefined
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === seg)
      if (pair === undefined) return { node: undefined, key: undefined, parent }
      key = pair.key as Node
      node = pair.value
    } else if (isSeq(node) && typeof seg === "number") {
      node = node.items[seg]
    } else return { node: undefined, key: undefined, parent }
  }
  return { node: node as Node | undefined, key, parent }
}

/** Where to point at a value (`value`), its key (`key`), or — if it is missing — its parent. */
export const locate = (loaded: Loaded, path: Path, mode: "value" | "key" = "value"): Position => {
  for (let n = path.length; n >= 0; n--) {
    const { node, key } = nodeAt(loaded, path.slice(0, n))
    const target =
      mode === "key" && n === path.length ? (key ?? node) : n === path.length ? node : (key ?? node)
    const range = target?.range
    if (range) return positionAt(loaded, range[0])
  }
  return { line: 1, col: 1 }
}

/**
 * Maps a position inside a template string (row/col, 1-based, as liquidjs reports) to the file,
 * for plain, quoted and block scalars.
 */
export const locateInScalar = (loaded: Loaded, path: Path, row: number, col: number): Position => {
  const { node } = nodeAt(loaded, path)
  if (node === undefined || !isScalar(node) || !node.range) return locate(loaded, path)
  const start = positionAt(loaded, node.range[0])
  const type = node.type
  if (type === "BLOCK_LITERAL" || type === "BLOCK_FOLDED") {
    const lineText = loaded.source.split("\n")[start.line + row - 1] ?? ""
    const indent = lineText.length - lineText.trimStart().length
    return { line: start.line + row, col: indent + col }
  }
  const quote = type === "QUOTE_DOUBLE" || type === "QUOTE_SINGLE" ? 1 : 0
  return row === 1
    ? { line: start.line, col: start.col + quote + col - 1 }
    : { line: start.line + row - 1, col }
}
