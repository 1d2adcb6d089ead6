/**
 * `runner show`: what a run produced, per step and item, as text for people, JSON, or JSON lines
 * for piping. One answer per item (a resumed item's last answer; a pack's split attempts left
 * out), in item order. Pure.
 */
import type { RequestRecord } from "../run/RequestRecord.ts"

export interface ItemOutput {
  readonly step: string
  readonly item: number
  readonly status: "ok" | "error"
  /** The answer (text, or the checked JSON); absent when the item failed. */
  readonly output?: unknown
  readonly error?: string
  readonly model?: string
  readonly cost_usd?: string
  readonly cached?: boolean
}

/** A step's answers in item order, one per item. */
export const itemOutputs = (step: string, records: ReadonlyArray<RequestRecord>): ItemOutput[] => {
  const byItem = new Map<number, RequestRecord>()
  for (const r of records) {
    if (r.status === "split") continue
    // an answer wins over an earlier failure of the same item
    if (r.status === "ok" || byItem.get(r.index)?.status !== "ok") byItem.set(r.index, r)
  }
  return [...byItem.values()]
    .sort((a, b) => a.index - b.index)
    .map((r) => ({
      step,
      item: r.index,
      status: r.status === "ok" ? "ok" : "error",
      ...(r.status === "ok" ? { output: r.output } : { error: r.error ?? "failed" }),
      ...(r.model === undefined ? {} : { model: r.model }),
      ...(r.cost_usd === undefined ? {} : { cost_usd: r.cost_usd }),
      ...(r.cached === true ? { cached: true } : {})
    }))
}

/** An output as people read it: text as it is, anything else as JSON on one line. */
const inline = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v))

/** One output alone: text as it is, JSON indented. */
export const renderOne = (o: ItemOutput): string =>
  o.status === "ok"
    ? `${typeof o.output === "string" ? o.output : JSON.stringify(o.output, null, 2)}\n`
    : `error: ${o.error}\n`

/** A step's outputs for people: `[3] the answer`, one item a line (a line break inside an answer is kept, indented). */
export const renderStep = (outputs: ReadonlyArray<ItemOutput>): string =>
  outputs
    .map((o) => {
      const text = o.status === "ok" ? inline(o.output) : `error: ${o.error}`
      const tag = `[${o.item}] `
      return `${tag}${text.split("\n").join(`\n${" ".repeat(tag.length)}`)}\n`
    })
    .join("")

/** A run for people: its named outputs, then each step and how to see it. */
export const renderRun = (
  display: string,
  named: Readonly<Record<string, unknown>>,
  steps: ReadonlyArray<{ readonly id: string; readonly outputs: ReadonlyArray<ItemOutput> }>
): string => {
  const lines = Object.entries(named).map(([k, v]) => `${k}: ${inline(v)}`)
  const stepLines = steps.map((s) => {
    const failed = s.outputs.filter((o) => o.status === "error").length
    return `  ${s.id}: ${s.outputs.length} output${s.outputs.length === 1 ? "" : "s"}${failed > 0 ? ` (${failed} failed)` : ""}`
  })
  return [
    ...(lines.length > 0 ? ["outputs:", ...lines.map((l) => `  ${l}`), ""] : []),
    "steps:",
    ...stepLines,
    "",
    `each step's outputs: runner show ${display} <step> [--item N] [--format json|jsonl]`,
    ""
  ].join("\n")
}

/** JSON lines, one per item (for `jq`, `grep`, a spreadsheet). */
export const renderJsonl = (outputs: ReadonlyArray<ItemOutput>): string =>
  outputs.map((o) => `${JSON.stringify(o)}\n`).join("")
