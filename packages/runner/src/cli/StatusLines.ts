/**
 * The live status block a run draws on a terminal, as lines that each fit the width: what is
 * done per step, the time gone and left, the money against the budget, and what the run waits
 * for and until when (wrapped over lines rather than cut, so the reason is never lost). Pure.
 */
import { duration, money } from "../report/Format.ts"

export interface Status {
  readonly steps: ReadonlyArray<{ readonly id: string; readonly done: number; readonly total: number }>
  readonly elapsedMs: number
  /** Seconds left, when it can be told. */
  readonly etaS: number | undefined
  readonly inFlight: number
  readonly spent: number
  readonly budget: number | undefined
  readonly wait:
    | { readonly label: string; readonly reason: string; readonly leftMs: number; readonly until: number }
    | undefined
}

/** The narrowest terminal the block is laid out for. */
export const MIN_COLUMNS = 40

const SEP = " · "

/** The first candidate that fits `width`, else the last one cut. */
const firstFitting = (candidates: ReadonlyArray<string>, width: number): string => {
  const fits = candidates.find((c) => c.length <= width)
  return fits ?? `${candidates.at(-1)!.slice(0, width - 1)}…`
}

const stepsLine = (s: Status, width: number): string => {
  if (s.steps.length === 0) return "starting"
  const open = s.steps.filter((t) => t.done < t.total)
  const finished = s.steps.length - open.length
  const each = (ts: typeof s.steps) => ts.map((t) => `${t.id} ${t.done}/${t.total}`).join(SEP)
  const done = s.steps.reduce((n, t) => n + t.done, 0)
  const total = s.steps.reduce((n, t) => n + t.total, 0)
  return firstFitting(
    [
      each(s.steps),
      `${each(open)}${SEP}${finished} step${finished === 1 ? "" : "s"} done`,
      open[0] === undefined ? "" : `${each([open[0]])}${open.length > 1 ? ` +${open.length - 1} more` : ""}`,
      `${done}/${total} done`
    ].filter((c) => c !== "" && !c.startsWith(SEP)),
    width
  )
}

const timeLine = (s: Status, width: number): string => {
  const parts = [
    `${duration(s.elapsedMs / 1000)} elapsed`,
    s.etaS === undefined ? "ETA –" : `ETA ${duration(s.etaS)}`,
    `${money(s.spent)}${s.budget === undefined ? "" : ` of ${money(s.budget)}`}`,
    `${s.inFlight} in flight`
  ]
  // the least needed goes first: requests in flight, then the ETA
  return firstFitting([parts.join(SEP), parts.slice(0, 3).join(SEP), [parts[0], parts[2]].join(SEP)], width)
}

/** Words wrapped to `width`; a word longer than the width is split. */
export const wrap = (text: string, width: number): string[] => {
  const lines: string[] = []
  let line = ""
  for (const word of text.split(" ")) {
    let w = word
    while (w.length > width) {
      if (line !== "") lines.push(line)
      lines.push(w.slice(0, width))
      w = w.slice(width)
      line = ""
    }
    if (line === "") line = w
    else if (line.length + 1 + w.length <= width) line = `${line} ${w}`
    else {
      lines.push(line)
      line = w
    }
  }
  if (line !== "") lines.push(line)
  return lines
}

/** The block for a terminal `columns` wide (at least `MIN_COLUMNS`); no line reaches the last column. */
export const statusLines = (s: Status, columns: number | undefined): string[] => {
  const width = Math.max(MIN_COLUMNS, columns ?? 80) - 1
  const lines = [stepsLine(s, width), timeLine(s, width)]
  if (s.wait !== undefined && s.wait.leftMs > 0) {
    const until = new Date(s.wait.until).toISOString().slice(11, 19)
    lines.push(
      ...wrap(
        `${s.wait.label} waits ${duration(Math.ceil(s.wait.leftMs / 1000))} (until ${until}Z) for ${s.wait.reason}`,
        width
      )
    )
  }
  return lines
}
