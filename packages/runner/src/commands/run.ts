/** `runner run <pipeline.yaml | plan.json>`: gates, then executes; prints actual vs projected. */
import { Effect } from "effect"
import { loadCatalog } from "../CatalogIo.ts"
import type { InputOverride } from "../Inputs.ts"
import type { Io } from "../Io.ts"
import { Progress } from "../Progress.ts"
import { duration, money, renderPlanMarkdown, renderPlanTable } from "../Report.ts"
import { type RunSummary, runFile } from "../Run.ts"
import { type Column, renderMarkdownTable, renderTable } from "../Table.ts"
import { planOptionsOf, quiet } from "./common.ts"
import { reportInvalid } from "./validate.ts"

export interface RunCommandOptions {
  readonly file: string
  readonly inputs: ReadonlyArray<InputOverride>
  readonly format: "table" | "json" | "markdown"
  readonly baseUrl: string | undefined
  readonly maxCostUsd: number | undefined
  readonly noCache: boolean
  readonly offline: boolean
  readonly concurrency: number | undefined
  readonly outDir: string | undefined
  readonly store: string | undefined
}

const SUMMARY_COLUMNS: ReadonlyArray<Column> = [
  { header: "step" },
  { header: "done", align: "right" },
  { header: "cached", align: "right" },
  { header: "retries", align: "right" },
  { header: "projected", align: "right" },
  { header: "max", align: "right" },
  { header: "actual", align: "right" }
]

const summaryRows = (s: RunSummary) =>
  s.steps.map((st) => [
    st.id,
    `${st.actual.completed}/${st.requests}`,
    String(st.actual.cached + st.actual.reused),
    String(st.actual.retries),
    money(st.cost_usd.expected),
    money(st.cost_usd.max),
    money(st.actual.cost_usd)
  ])

const summaryLines = (s: RunSummary): string[] => [
  `status: ${s.status}${"reason" in s ? ` (${s.reason})` : ""}`,
  `requests: ${s.actual.requests} sent (${s.actual.retries} retries, ${s.actual.rate_limited} rate-limited), ${s.actual.cached} cached, ${s.actual.reused} reused from an interrupted run`,
  `cost: ${money(s.actual.cost_usd)} actual vs ${money(s.cost_usd.expected)} expected, ${money(s.cost_usd.max)} at most`,
  `time: ${duration(s.actual.duration_s)}`,
  `records: ${s.run.dir}`
]

/** The run summary as markdown (a PR comment or `$GITHUB_STEP_SUMMARY`). */
export const renderSummaryMarkdown = (s: RunSummary): string =>
  `### ${s.status === "completed" ? "✅" : "❌"} Tollgate run: \`${s.pipeline.name}\`\n\n` +
  renderMarkdownTable(SUMMARY_COLUMNS, summaryRows(s)) +
  "\n" +
  summaryLines(s)
    .map((l) => `- ${l}`)
    .join("\n") +
  "\n"

export const renderSummary = (s: RunSummary): string =>
  `${renderTable(SUMMARY_COLUMNS, summaryRows(s))}\n${summaryLines(s).join("\n")}\n`

export const run = async (io: Io, opts: RunCommandOptions): Promise<number> => {
  const catalog = await loadCatalog(io)
  const progress = new Progress(io, { quiet: opts.format === "json", budgetUsd: undefined })
  let unsubscribe: (() => void) | undefined
  const result = await Effect.runPromise(
    runFile(opts.file, {
      ...planOptionsOf(io, catalog, opts),
      offline: opts.offline,
      concurrency: opts.concurrency,
      outDir: opts.outDir,
      onEvent: (e) => progress.event(e),
      onStopHandle: (stop) => {
        unsubscribe = io.onInterrupt?.(() => {
          io.err("\ninterrupt: sending nothing more; waiting for requests in flight (again to quit now)\n")
          stop()
        })
      }
    }).pipe(quiet)
  )
  unsubscribe?.()
  progress.done()
  switch (result.kind) {
    case "invalid":
      return reportInvalid(io, result.plan.invalid)
    case "refused":
      io.err(`error: ${result.message}\n`)
      return 2
    case "store-unavailable":
      io.err(`error: ${result.message}; nothing was sent\n`)
      return 1
    case "offline-miss":
      io.err(`error: ${result.message}\n`)
      return 2
    case "gated":
      if (opts.format === "json") io.out(`${JSON.stringify(result.plan, null, 2)}\n`)
      else io.out(opts.format === "markdown" ? renderPlanMarkdown(result.plan) : renderPlanTable(result.plan))
      io.err("the plan is over a limit: nothing was sent\n")
      return 3
    case "ran":
      if (opts.format === "json") io.out(`${JSON.stringify(result.summary, null, 2)}\n`)
      else
        io.out(
          opts.format === "markdown" ? renderSummaryMarkdown(result.summary) : renderSummary(result.summary)
        )
      if (result.summary.status !== "completed" && "reason" in result.summary)
        io.err(`${result.summary.status}: ${result.summary.reason}\n`)
      return result.exitCode
  }
}
