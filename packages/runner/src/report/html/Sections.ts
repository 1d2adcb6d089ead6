/** The report sections a run and a plan share: cost per step, and free requests per day. Pure. */
import type { PlanStep } from "../../plan/SavedPlan.ts"
import { money } from "../Format.ts"
import { type CellLike, esc, figure, table } from "./Page.ts"
import { columns, groupedBars, legend, type Series } from "./Svg.ts"

type Step = typeof PlanStep.Type & {
  readonly actual?: { readonly cost_usd: number; readonly requests: number; readonly completed: number }
}

const modelOf = (s: Step) => (typeof s.model === "string" ? s.model : s.model.join(" → "))

const SERIES: ReadonlyArray<Series & { readonly cssVar: string }> = [
  { key: "expected", label: "expected", cssVar: "--accent" },
  { key: "p90", label: "likely high (p90)", cssVar: "--p90" },
  { key: "max", label: "at most", cssVar: "--max" }
]
const ACTUAL = { key: "actual", label: "billed", cssVar: "--ok" }

/** Cost per step: projected (expected, p90, max) and, for a run, billed; a chart and its table. */
export const costPerStep = (steps: ReadonlyArray<Step>, withActual: boolean): string => {
  const series = withActual ? [...SERIES, ACTUAL] : SERIES
  const chart = groupedBars({
    id: "cost-chart",
    title: withActual ? "Cost per step: projected and billed" : "Cost per step: projected",
    desc: `${steps.length} steps; the table below gives the same figures.`,
    series,
    groups: steps.map((s) => ({
      label: s.id,
      values: [
        s.cost_usd.expected,
        s.cost_usd.p90,
        s.cost_usd.max,
        ...(withActual ? [s.actual?.cost_usd] : [])
      ]
    })),
    format: money
  })
  const rows: CellLike[][] = steps.map((s, i) => [
    {
      html: `<strong>${esc(s.id)}</strong><br><span class="muted">${esc(modelOf(s))}${s.free ? " (free)" : ""}</span>`
    },
    { html: String(s.requests), num: true },
    { html: String(s.cached), num: true },
    {
      html: figure(`steps.${i}.cost_usd.expected`, s.cost_usd.expected, money(s.cost_usd.expected)),
      num: true
    },
    { html: figure(`steps.${i}.cost_usd.p90`, s.cost_usd.p90, money(s.cost_usd.p90)), num: true },
    { html: figure(`steps.${i}.cost_usd.max`, s.cost_usd.max, money(s.cost_usd.max)), num: true },
    ...(withActual
      ? [
          {
            html:
              s.actual === undefined
                ? "—"
                : figure(`steps.${i}.actual.cost_usd`, s.actual.cost_usd, money(s.actual.cost_usd)),
            num: true
          }
        ]
      : [])
  ])
  return [
    legend(series.map((s) => ({ cssVar: s.cssVar, label: s.label }))),
    chart,
    table(
      "Cost per step",
      ["step and model", "requests", "cached", "expected", "p90", "max", ...(withActual ? ["billed"] : [])],
      rows,
      [false, true, true, true, true, true, true]
    )
  ].join("\n")
}

/** Free-model requests per UTC day against the daily quota (a plan's days, or a run's attempts). */
export const freeDays = (
  days: ReadonlyArray<{ readonly day: string; readonly count: number }>,
  perDay: number | null | undefined,
  what: string
): string => {
  if (days.length === 0) return `<p class="muted">No free-model requests.</p>`
  const chart = columns({
    id: "days-chart",
    title: `Free-model requests per day (${what})`,
    desc: `${days.length} day${days.length === 1 ? "" : "s"}${perDay == null ? "" : `, against a quota of ${perDay} a day`}; the table below gives the same figures.`,
    columns: days.map((d) => ({
      label: d.day.slice(5),
      value: d.count,
      title: `${d.day}: ${d.count} free requests`
    })),
    kind: "free",
    ...(perDay == null ? {} : { limit: { value: perDay, label: `quota ${perDay}/day` } })
  })
  return [
    chart,
    table(
      "Free-model requests per UTC day",
      ["day", "free requests", ...(perDay == null ? [] : ["of the quota"])],
      days.map((d) => [
        d.day,
        { html: String(d.count), num: true },
        ...(perDay == null ? [] : [{ html: `${Math.round((d.count / perDay) * 100)}%`, num: true }])
      ]),
      [false, true, true]
    )
  ].join("\n")
}
