/** `file:line:col: message [rule]` diagnostics, sorted, with an optional caret snippet. Pure. */

export interface Diagnostic {
  readonly file: string
  /** 1-based. */
  readonly line: number
  /** 1-based. */
  readonly col: number
  readonly message: string
  readonly rule: string
}

export const compare = (a: Diagnostic, b: Diagnostic): number =>
  a.file.localeCompare(b.file) ||
  a.line - b.line ||
  a.col - b.col ||
  a.rule.localeCompare(b.rule) ||
  a.message.localeCompare(b.message)

/** Sorted by position, duplicates removed. */
export const sortUnique = (ds: ReadonlyArray<Diagnostic>): Diagnostic[] => {
  const seen = new Set<string>()
  return [...ds].sort(compare).filter((d) => {
    const k = `${d.file}:${d.line}:${d.col}:${d.rule}:${d.message}`
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
}

export const formatOne = (d: Diagnostic): string => `${d.file}:${d.line}:${d.col}: ${d.message} [${d.rule}]`

/** Every diagnostic, one a line; with `sources`, a caret snippet under each (for a terminal). */
export const render = (ds: ReadonlyArray<Diagnostic>, sources?: ReadonlyMap<string, string>): string =>
  sortUnique(ds)
    .map((d) => {
      const head = formatOne(d)
      const text = sources?.get(d.file)
      if (text === undefined) return head
      const line = text.split("\n")[d.line - 1]
      if (line === undefined) return head
      const gutter = String(d.line).padStart(4)
      return `${head}\n${gutter} | ${line}\n${" ".repeat(gutter.length)} | ${" ".repeat(Math.max(0, d.col - 1))}^`
    })
    .join("\n") + (ds.length > 0 ? "\n" : "")
