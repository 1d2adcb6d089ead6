/**
 * A plan's HTML report: the verdict and totals, cost per step (expected, p90, max), and the days
 * a multi-day run's free requests fall on, against the daily quota. Pure.
 */
import type { PlanForReport } from "../../plan/SavedPlan.ts"
import { duration, money } from "../Format.ts"
import { card, esc, figure, page, table } from "./Page.ts"
import { costPerStep, freeDays } from "./Sections.ts"
import { groupedBars, legend } from "./Svg.ts"

const verdict = (p: PlanForReport): string =>
  p.violations.length === 0
    ? `<p><span class="status good">within budget and quota</span></p>`
    : `<p><span class="status bad">would be stopped</span></p>${table(
        "What the plan breaks",
        ["gate", "why"],
        p.violations.map((v) => [v.kind, v.message])
      )}`

const totals = (p: PlanForReport): string => {
  const budget = p.budget.max_cost_usd
  return `${verdict(p)}
<div class="cards">
${card("expected", figure("cost_usd.expected", p.cost_usd.expected, money(p.cost_usd.expected)), budget === null ? "no budget set" : `of a ${figure("budget.max_cost_usd", budget, money(budget))} budget`)}
${card("likely high (p90)", figure("cost_usd.p90", p.cost_usd.p90, money(p.cost_usd.p90)))}
${card("at most", figure("cost_usd.max", p.cost_usd.max, money(p.cost_usd.max)))}
${card("requests to send", figure("requests.max", p.requests.max, String(p.requests.max)), `${figure("requests.cached", p.requests.cached, String(p.requests.cached))} cached, ${figure("free_requests", p.free_requests, String(p.free_requests))} free`)}
${card("least time", figure("min_duration_s", p.min_duration_s, duration(p.min_duration_s)), `${p.quota.days.length} day${p.quota.days.length === 1 ? "" : "s"} of free quota`)}
</div>`
}

/** With a deadline: each overflow step's free days and paid part, and the alternatives side by side. */
const deadlineSection = (d: NonNullable<PlanForReport["deadline"]>): string => {
  const a = d.alternatives
  const chart = groupedBars({
    id: "deadline-chart",
    title: "The job by the deadline: free only, with overflow, all paid now",
    desc: `Free only takes ${a.free_only.days} day${a.free_only.days === 1 ? "" : "s"}${a.free_only.meets_deadline ? "" : ", past the deadline"}; the table below gives the figures.`,
    series: [
      { key: "expected", label: "expected" },
      { key: "max", label: "at most" }
    ],
    groups: [
      { label: "free only", values: [0, 0] },
      { label: "with overflow", values: [a.with_overflow.cost_usd.expected, a.with_overflow.cost_usd.max] },
      { label: "all paid now", values: [a.all_paid.cost_usd.expected, a.all_paid.cost_usd.max] }
    ],
    format: money
  })
  const steps = table(
    `Where each request goes by ${d.at.slice(0, 16).replace("T", " ")}Z`,
    ["step", "free, by day", "paid", "paid cost (expected / max)"],
    d.steps.map((s) => [
      s.id,
      s.free_by_day.map((x) => `${x.free_requests} on ${x.date}`).join(", ") || "none",
      { html: `${s.paid_requests} on <code>${esc(s.paid_model)}</code>` },
      { html: `${money(s.paid_cost_usd.expected)} / ${money(s.paid_cost_usd.max)}`, num: true }
    ])
  )
  const alternatives = table(
    "The alternatives",
    ["way", "when done", "cost expected", "cost at most"],
    [
      ["free only", a.free_only.last_day ?? "—", { html: "$0", num: true }, { html: "$0", num: true }],
      [
        "with overflow",
        "by the deadline",
        { html: money(a.with_overflow.cost_usd.expected), num: true },
        { html: money(a.with_overflow.cost_usd.max), num: true }
      ],
      [
        "all paid now",
        "now",
        { html: money(a.all_paid.cost_usd.expected), num: true },
        { html: money(a.all_paid.cost_usd.max), num: true }
      ]
    ],
    [false, false, true, true]
  )
  return [
    legend([
      { cssVar: "--accent", label: "expected" },
      { cssVar: "--max", label: "at most" }
    ]),
    chart,
    steps,
    alternatives
  ].join("\n")
}

/** The whole report of a plan. */
export const planHtml = (p: PlanForReport): string =>
  page({
    title: `${p.pipeline.name}: plan`,
    heading: `${p.pipeline.name}: plan`,
    subtitle: [
      `<code>${esc(p.pipeline.file)}</code>`,
      p.catalog === undefined ? "" : `prices: ${esc(p.catalog.label)}`
    ]
      .filter((x) => x !== "")
      .join(" · "),
    top: totals(p),
    sections: [
      { id: "cost", title: "Cost per step", body: costPerStep(p.steps, false) },
      ...(p.deadline === undefined
        ? []
        : [{ id: "deadline", title: "Deadline", body: deadlineSection(p.deadline) }]),
      {
        id: "days",
        title: "Days",
        body: freeDays(
          p.quota.days.map((d) => ({ day: d.date, count: d.free_requests })),
          p.quota.free_per_day,
          "planned"
        )
      }
    ]
  })
