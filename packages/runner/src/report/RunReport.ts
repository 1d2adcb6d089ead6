/** The run summary for people: a terminal table, and markdown for a PR comment or `$GITHUB_STEP_SUMMARY`. Pure. */
import { driftLine } from "../run/Settlement.ts"
import type { RunSummary } from "../run/Summary.ts"
import { duration, money } from "./Format.ts"
import { type Column, renderMarkdownTable, renderTable } from "./Table.ts"

const COLUMNS: ReadonlyArray<Column> = [
  { header: "step" },
  { header: "done", align: "right" },
  { header: "cached", align: "right" },
  { header: "retries", align: "right" },
  { header: "projected", align: "right" },
  { header: "max", align: "right" },
  { header: "actual", align: "right" }
]

const rows = (s: RunSummary) =>
  s.steps.map((st) => [
    st.id,
    // a packed step's items are done, in fewer requests
    `${st.actual.completed}/${"items" in st && st.items !== undefined ? st.items : st.requests}`,
    String(st.actual.cached + st.actual.reused),
    String(st.actual.retries),
    money(st.cost_usd.expected),
    money(st.cost_usd.max),
    money(st.actual.cost_usd)
  ])

const lines = (s: RunSummary): string[] => [
  `status: ${s.status}${"reason" in s ? ` (${s.reason})` : ""}`,
  `requests: ${s.actual.requests} sent (${s.actual.retries} retries, ${s.actual.rate_limited} rate-limited), ${s.actual.cached} cached, ${s.actual.reused} reused from an interrupted run`,
  ...(s.actual.abandoned > 0
    ? [
        `timed out: ${s.actual.abandoned} attempt(s), counted in the cost at their worst case (the provider may bill them)`
      ]
    : []),
  ...(s.actual.cost_sources.catalog_usd + s.actual.cost_sources.bound_usd > 0
    ? [
        `cost sources: ${money(s.actual.cost_usd)} in all, ${money(s.actual.cost_sources.catalog_usd)} of it estimated as tokens × catalog prices (no usage.cost), ${money(s.actual.cost_sources.bound_usd)} at its worst case (no usage)`
      ]
    : []),
  ...(s.actual.truncated > 0
    ? [
        `warning: ${s.actual.truncated} repl${s.actual.truncated === 1 ? "y was" : "ies were"} cut off at max_tokens and kept (output.truncated: allow)`
      ]
    : []),
  `cost: ${money(s.actual.cost_usd)} actual vs ${money(s.cost_usd.expected)} expected, ${money(s.cost_usd.p90)} likely high (p90: ${s.actual.within_p90 ? "under it" : "over it"}), ${money(s.cost_usd.max)} at most`,
  ...(s.actual.settlement !== undefined && s.actual.settlement.requests > 0
    ? [driftLine(s.actual.settlement)]
    : []),
  ...("overflow" in s.actual && s.actual.overflow !== undefined
    ? [
        `free first: ${s.actual.overflow.free} answered free, ${s.actual.overflow.paid} on the paid overflow model; ${money(s.actual.overflow.saved_usd)} saved against sending all of them paid`
      ]
    : []),
  `time: ${duration(s.actual.duration_s)}`,
  `records: ${s.run.dir}`
]

export const renderSummary = (s: RunSummary): string =>
  `${renderTable(COLUMNS, rows(s))}\n${lines(s).join("\n")}\n`

export const renderSummaryMarkdown = (s: RunSummary): string =>
  `### ${s.status === "completed" ? "✅" : "❌"} Tollgate run: \`${s.pipeline.name}\`\n\n` +
  renderMarkdownTable(COLUMNS, rows(s)) +
  "\n" +
  lines(s)
    .map((l) => `- ${l}`)
    .join("\n") +
  "\n"
