/** What `runner reconcile` found: the drift between the replies' figures and the provider's bill, per step and in all. Pure. */
import type { Reconciled } from "../run/Reconcile.ts"
import { type Drift, type DriftJson, driftJson, driftLine } from "../run/Settlement.ts"
import { type Column, renderMarkdownTable, renderTable } from "./Table.ts"

const COLUMNS: ReadonlyArray<Column> = [
  { header: "step" },
  { header: "settled", align: "right" },
  { header: "replies", align: "right" },
  { header: "bill", align: "right" },
  { header: "drift", align: "right" }
]

const row = (id: string, d: DriftJson) => [
  id,
  `${d.settled}/${d.requests}`,
  `$${d.reply_usd}`,
  `$${d.settled_usd}`,
  `${d.drift_pct >= 0 ? "+" : ""}${d.drift_pct}%`
]

export const reconcileJson = (dir: string, r: Reconciled) => ({
  run: dir,
  settlement: driftJson(r.drift),
  newly_settled: r.newly,
  steps: r.steps.map((s) => ({ id: s.id, settlement: driftJson(s.drift) })),
  failures: r.failures
})

const tail = (r: Reconciled): string[] => [
  driftLine(driftJson(r.drift)),
  `newly settled: ${r.newly}`,
  ...r.failures.map((f) => `warning: the provider would not say: ${f}`)
]

const rows = (r: Reconciled, total: Drift) => [
  ...r.steps.map((s) => row(s.id, driftJson(s.drift))),
  row("total", driftJson(total))
]

export const renderReconcile = (r: Reconciled): string =>
  r.drift.requests === 0
    ? "no paid answers with a generation id in this run: nothing to settle\n"
    : `${renderTable(COLUMNS, rows(r, r.drift))}\n${tail(r).join("\n")}\n`

export const renderReconcileMarkdown = (r: Reconciled): string =>
  `### Tollgate: settled against the provider's bill\n\n${renderMarkdownTable(COLUMNS, rows(r, r.drift))}\n${tail(
    r
  )
    .map((l) => `- ${l}`)
    .join("\n")}\n`
