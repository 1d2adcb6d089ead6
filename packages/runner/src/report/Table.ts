/** Plain-text tables and markdown tables for terminal and PR output. Pure. */

export type Align = "left" | "right"
export interface Column {
  readonly header: string
  readonly align?: Align
}

const pad = (text: string, width: number, align: Align): string =>
  align === "right" ? text.padStart(width) : text.padEnd(width)

/** A table with a header row and a rule, columns sized to fit. */
export const renderTable = (
  columns: ReadonlyArray<Column>,
  rows: ReadonlyArray<ReadonlyArray<string>>
): string => {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells
      .map((cell, i) => pad(cell, widths[i]!, columns[i]!.align ?? "left"))
      .join("  ")
      .trimEnd()
  return (
    [line(columns.map((c) => c.header)), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join(
      "\n"
    ) + "\n"
  )
}

/** A GitHub-flavoured markdown table. */
export const renderMarkdownTable = (
  columns: ReadonlyArray<Column>,
  rows: ReadonlyArray<ReadonlyArray<string>>
): string => {
  const esc = (s: string) => s.replace(/\|/g, "\\|")
  const head = `| ${columns.map((c) => esc(c.header)).join(" | ")} |`
  const rule = `| ${columns.map((c) => (c.align === "right" ? "---:" : "---")).join(" | ")} |`
  return [head, rule, ...rows.map((r) => `| ${r.map(esc).join(" | ")} |`)].join("\n") + "\n"
}
