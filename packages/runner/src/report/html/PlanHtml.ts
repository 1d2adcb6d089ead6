/**
 * A plan's HTML report: the verdict and totals, cost per step (expected, p90, max), and the days
 * a multi-day run's free requests fall on, against the daily quota. Pure.
 */
import type { PlanForReport } from "../../plan/SavedPlan.ts"
import { duration, money } from "../Format.ts"
import { card, esc, figure, page, table } from "./Page.ts"
import { costPerStep, freeDays } from "./Sections.ts"

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
