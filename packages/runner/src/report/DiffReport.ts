/**
 * A cost diff for people: a terminal table, JSON, and markdown made for a pull-request comment
 * (a marker line that lets a workflow find and update its one comment, the total and the verdict
 * at the top, a per-step table, a Mermaid chart GitHub draws, a link to the run). Pure.
 */
import { change, describePolicy, type Figures, type PlanDiff, type Verdict } from "../plan/PlanDiff.ts"
import { money } from "./Format.ts"
import { type Column, renderMarkdownTable, renderTable } from "./Table.ts"

/** The first line of the PR comment: a workflow finds its earlier comment by it and edits that one. */
export const commentMarker = (pipeline: string): string => `<!-- tollgate-cost-diff: ${pipeline} -->`

/** `+$0.0115 (+37.7%)`; `inline`: `+$0.0115, +37.7%` (inside parentheses already). */
const delta = (before: number, after: number, inline = false): string => {
  const c = change(before, after)
  if (c.usd === 0) return "±$0"
  const sign = c.usd > 0 ? "+" : "−"
  const pct = c.pct === undefined ? "from $0" : `${c.pct > 0 ? "+" : c.pct < 0 ? "−" : ""}${Math.abs(c.pct)}%`
  return inline ? `${sign}${money(Math.abs(c.usd))}, ${pct}` : `${sign}${money(Math.abs(c.usd))} (${pct})`
}

const arrow = (before: number | undefined, after: number | undefined, f: (n: number) => string) =>
  before === undefined
    ? `— → ${f(after ?? 0)}`
    : after === undefined
      ? `${f(before)} → —`
      : before === after
        ? f(after)
        : `${f(before)} → ${f(after)}`

const count = (n: number) => n.toLocaleString("en-US")
const pick = (f: Figures | undefined, k: keyof Figures) => f?.[k]

const COLUMNS: ReadonlyArray<Column> = [
  { header: "step" },
  { header: "requests", align: "right" },
  { header: "expected", align: "right" },
  { header: "max", align: "right" },
  { header: "change", align: "right" },
  { header: "why" }
]

const rows = (d: PlanDiff) =>
  d.steps.map((s) => [
    s.id,
    arrow(pick(s.before, "requests"), pick(s.after, "requests"), count),
    arrow(pick(s.before, "expected"), pick(s.after, "expected"), money),
    arrow(pick(s.before, "max"), pick(s.after, "max"), money),
    delta(s.before?.expected ?? 0, s.after?.expected ?? 0),
    s.reasons.length === 0 ? "—" : s.reasons.join("; ")
  ])

const headline = (d: PlanDiff) =>
  `${money(d.before.expected)} → ${money(d.after.expected)} expected (${delta(d.before.expected, d.after.expected, true)}); ` +
  `${money(d.before.max)} → ${money(d.after.max)} at most (${delta(d.before.max, d.after.max, true)})`

const totalsLines = (d: PlanDiff) => [
  `p90: ${money(d.before.p90)} → ${money(d.after.p90)}`,
  `requests: ${arrow(d.before.requests, d.after.requests, count)}; tokens (expected): ${arrow(d.before.tokens, d.after.tokens, count)}`,
  `free requests: ${arrow(d.before.freeRequests, d.after.freeRequests, count)}; days of free quota: ${arrow(d.before.days, d.after.days, count)}`
]

const verdictLine = (v: Verdict | undefined, d: PlanDiff) => {
  if (v === undefined) return undefined
  if (v.ok) return `within the policy (${describePolicy(v.policy)})`
  const steps = v.culprits.map((c) => `${c.id} +${money(c.usd)}`).join(", ")
  return `over the policy (${describePolicy(v.policy)}): ${delta(
    v.policy.on === "max" ? d.before.max : d.before.expected,
    v.policy.on === "max" ? d.after.max : d.after.expected
  )}${steps !== "" ? `, pushed by ${steps}` : ""}`
}

export const renderDiffTable = (d: PlanDiff, v?: Verdict): string => {
  const verdict = verdictLine(v, d)
  return `cost diff: ${d.pipeline}\n${renderTable(COLUMNS, rows(d))}\ntotal: ${headline(d)}\n${totalsLines(d).join("\n")}\n${verdict !== undefined ? `${v!.ok ? "✓" : "✗"} ${verdict}\n` : ""}`
}

/** Mermaid's xychart (GitHub renders it): each step's expected cost after the change as bars, before it as a line. */
const chart = (d: PlanDiff): string => {
  const label = (id: string) => JSON.stringify(id.length > 14 ? `${id.slice(0, 13)}…` : id)
  const usd = (n: number | undefined) => Number((n ?? 0).toPrecision(4))
  const top = Math.max(...d.steps.flatMap((s) => [s.before?.expected ?? 0, s.after?.expected ?? 0]), 0)
  return [
    "```mermaid",
    "xychart-beta",
    '  title "Expected cost per step (USD): bars after, line before"',
    `  x-axis [${d.steps.map((s) => label(s.id)).join(", ")}]`,
    `  y-axis "USD" 0 --> ${usd(top * 1.1) || 1}`,
    `  bar [${d.steps.map((s) => usd(s.after?.expected)).join(", ")}]`,
    `  line [${d.steps.map((s) => usd(s.before?.expected)).join(", ")}]`,
    "```"
  ].join("\n")
}

/** The pull-request comment: short at the top, the table below, the chart, the run's link. */
export const renderDiffMarkdown = (d: PlanDiff, v?: Verdict, link?: string): string => {
  const verdict = verdictLine(v, d)
  const icon = v === undefined ? "💰" : v.ok ? "✅" : "❌"
  return [
    commentMarker(d.pipeline),
    `### ${icon} Tollgate cost check: \`${d.pipeline}\``,
    "",
    `**${headline(d)}**`,
    ...(verdict !== undefined ? ["", `${v!.ok ? "✅" : "❌"} ${verdict}`] : []),
    "",
    renderMarkdownTable(COLUMNS, rows(d)).trimEnd(),
    "",
    ...totalsLines(d).map((l) => `- ${l}`),
    "",
    ...(d.steps.length > 0 ? [chart(d), ""] : []),
    ...(link !== undefined ? [`<sub>[the run](${link}) · plans by Tollgate, sending nothing</sub>`] : []),
    ""
  ].join("\n")
}

const figuresJson = (f: Figures | undefined) =>
  f === undefined
    ? null
    : {
        requests: f.requests,
        items: f.items,
        tokens: f.tokens,
        free_requests: f.freeRequests,
        cost_usd: { expected: f.expected, p90: f.p90, max: f.max }
      }

export const diffJson = (d: PlanDiff, v?: Verdict) => ({
  pipeline: d.pipeline,
  before: { ...figuresJson(d.before), days: d.before.days },
  after: { ...figuresJson(d.after), days: d.after.days },
  change: {
    expected: change(d.before.expected, d.after.expected),
    p90: change(d.before.p90, d.after.p90),
    max: change(d.before.max, d.after.max)
  },
  steps: d.steps.map((s) => ({
    id: s.id,
    status: s.status,
    model: s.model,
    before: figuresJson(s.before),
    after: figuresJson(s.after),
    change: { expected: change(s.before?.expected ?? 0, s.after?.expected ?? 0) },
    reasons: s.reasons
  })),
  ...(v !== undefined
    ? {
        policy: {
          ok: v.ok,
          rule: describePolicy(v.policy),
          culprits: v.culprits.map((c) => ({ id: c.id, change_usd: c.usd }))
        }
      }
    : {})
})
