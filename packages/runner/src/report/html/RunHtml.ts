/**
 * A run's HTML report: status and totals, cost per step projected against billed, the
 * timeline of requests with the waits and refusals, attempts per time slot, free requests per
 * day, and every output browsable per step. Pure: a read run directory in, a document out.
 */
import type { RequestRecord } from "../../run/RequestRecord.ts"
import { type RunDir, stepIdsOf } from "../../run/RunDir.ts"
import { duration, money } from "../Format.ts"
import { card, esc, figure, page, table } from "./Page.ts"
import { costPerStep, freeDays } from "./Sections.ts"
import { columns, legend, timeline } from "./Svg.ts"
import { freePerDay, perSlot, type Timeline, timelineOf } from "./Timeline.ts"

/** Most outputs listed per step; the rest are a `runner show` away. */
export const OUTPUTS_PER_STEP = 500

const statusClass = (status: string) =>
  status === "completed" ? "good" : status === "interrupted" || status === "stopped" ? "warn" : "bad"

const totals = (run: RunDir): string => {
  const s = run.summary
  if (s === undefined)
    return `<p><span class="status warn">no summary</span> the run was killed or is still going; what its files hold so far is below.</p>`
  const a = s.actual
  const budget = s.budget.max_cost_usd
  return `<p><span class="status ${statusClass(s.status)}" data-key="status">${esc(s.status)}</span></p>
<div class="cards">
${card("billed", figure("actual.cost_usd", a.cost_usd, money(a.cost_usd)), budget === null ? "no budget set" : `of a ${figure("budget.max_cost_usd", budget, money(budget))} budget`)}
${card("expected", figure("cost_usd.expected", s.cost_usd.expected, money(s.cost_usd.expected)), `p90 ${figure("cost_usd.p90", s.cost_usd.p90, money(s.cost_usd.p90))}, at most ${figure("cost_usd.max", s.cost_usd.max, money(s.cost_usd.max))}`)}
${card("requests sent", figure("actual.requests", a.requests, String(a.requests)), `${figure("actual.retries", a.retries, String(a.retries))} retries, ${figure("actual.rate_limited", a.rate_limited, String(a.rate_limited))} rate-limited, ${figure("actual.failed", a.failed, String(a.failed))} failed`)}
${card("cache hits", figure("actual.cached", a.cached, String(a.cached)), `${figure("actual.reused", a.reused, String(a.reused))} reused from an interrupted run`)}
${card("time", figure("actual.duration_s", a.duration_s, duration(a.duration_s)), `least the limits allowed: ${duration(s.min_duration_s)}`)}
${a.overflow === undefined ? "" : card("free first", `${figure("actual.overflow.free", a.overflow.free, String(a.overflow.free))} free, ${figure("actual.overflow.paid", a.overflow.paid, String(a.overflow.paid))} paid`, `${figure("actual.overflow.saved_usd", a.overflow.saved_usd, money(a.overflow.saved_usd))} saved against all paid`)}
${a.settlement === undefined ? "" : card("settled against the bill", `${a.settlement.settled} of ${a.settlement.requests}`, `drift $${esc(a.settlement.drift_usd)} (${a.settlement.drift_pct}%)`)}
</div>`
}

const timelineSection = (t: Timeline): string => {
  if (t.attempts === 0 && t.lanes.every((l) => l.rows.length === 0))
    return `<p class="muted">No request was sent: every answer came from the cache or an earlier run.</p>`
  const chart = timeline({
    id: "timeline-chart",
    title: "Requests over time",
    desc: `${t.attempts} attempts over ${duration(t.durationMs / 1000)}: ${t.refused} refused, ${t.failed} failed; the tables below list the waits and the refusals.`,
    lanes: t.lanes,
    durationMs: t.durationMs,
    bands: t.bands
  })
  const slots = perSlot(t.sends, t.durationMs)
  const slotText = slots.slotMs >= 1000 ? `${slots.slotMs / 1000} s` : `${slots.slotMs} ms`
  const rate = columns({
    id: "rate-chart",
    title: `Attempts sent per ${slotText}`,
    desc: `${slots.counts.length} slots of ${slotText}; at most ${Math.max(...slots.counts)} attempts in one.`,
    columns: slots.counts.map((c, i) => ({
      label: `${Math.round((i * slots.slotMs) / 1000)}s`,
      value: c,
      title: `${Math.round((i * slots.slotMs) / 1000)}–${Math.round(((i + 1) * slots.slotMs) / 1000)} s: ${c} attempts`
    })),
    kind: "expected"
  })
  const waits =
    t.waits.length === 0
      ? `<p class="muted">No request waited for a limit.</p>`
      : table(
          "What requests waited for",
          ["limit", "waits", "total wait"],
          t.waits.map((w) => [
            w.reason,
            { html: String(w.count), num: true },
            { html: duration(w.totalMs / 1000), num: true }
          ]),
          [false, true, true]
        )
  const problems =
    t.problems.length === 0
      ? `<p class="muted">No attempt was refused or failed.</p>`
      : table(
          "Refused and failed attempts",
          ["at", "request", "what happened"],
          t.problems.map((p) => [{ html: `${(p.at / 1000).toFixed(2)}s`, num: true }, p.label, p.what]),
          [true, false, false]
        )
  return [
    legend([
      { cssVar: "--ok", label: "answered" },
      { cssVar: "--warn", label: "refused (429)" },
      { cssVar: "--bad", label: "failed" },
      { cssVar: "--wait", label: "waiting for a limit" }
    ]),
    chart,
    t.omitted > 0 ? `<p class="muted">${t.omitted} more spans are counted but not drawn.</p>` : "",
    `<h3>Attempts against the rate window</h3>`,
    rate,
    waits,
    problems
  ].join("\n")
}

const shown = (output: unknown): string =>
  typeof output === "string" ? output : (JSON.stringify(output, null, 2) ?? "")

const outputRows = (records: ReadonlyArray<RequestRecord>) =>
  records
    .slice(0, OUTPUTS_PER_STEP)
    .map((r) => [
      { html: String(r.index), num: true },
      r.status + (r.cached === true ? " (cache)" : r.reused === true ? " (reused)" : ""),
      r.model ?? "",
      { html: r.cost_usd === undefined ? "" : `$${esc(r.cost_usd)}`, num: true },
      { html: `<pre>${esc(r.status === "ok" ? shown(r.output) : (r.error ?? ""))}</pre>` }
    ])

const outputsSection = (run: RunDir): string => {
  const pipelineOutputs = run.summary?.outputs ?? {}
  const named =
    Object.keys(pipelineOutputs).length === 0
      ? ""
      : table(
          "The pipeline's outputs",
          ["output", "value"],
          Object.entries(pipelineOutputs).map(([k, v]) => [k, { html: `<pre>${esc(shown(v))}</pre>` }])
        )
  const withRecords = stepIdsOf(run).filter((id) => run.records.has(id))
  const steps = withRecords.map((step, i) => {
    const records = [...(run.records.get(step) ?? [])].sort((a, b) => a.index - b.index)
    const id = `outputs-${i}`
    const more =
      records.length > OUTPUTS_PER_STEP
        ? `<p class="muted">The first ${OUTPUTS_PER_STEP} of ${records.length}: \`runner show ${esc(run.dir)} ${esc(step)}\` prints them all.</p>`
        : ""
    return `<details${i === 0 ? " open" : ""}><summary>${esc(step)} <span class="muted">(${records.length} records)</span></summary>
<p><label>Filter <input type="search" data-filter="${id}" aria-describedby="${id}-count"></label> <span id="${id}-count" class="muted" aria-live="polite">${Math.min(records.length, OUTPUTS_PER_STEP)} shown</span></p>
<div id="${id}">${table(`Outputs of ${step}`, ["item", "status", "model", "cost", "output"], outputRows(records), [true])}</div>${more}
</details>`
  })
  return [named, ...steps].join("\n") || `<p class="muted">No step has finished a request yet.</p>`
}

/** The whole report of a run. */
export const runHtml = (run: RunDir): string => {
  const s = run.summary
  const plan = s ?? run.plan
  const name = plan?.pipeline.name ?? "run"
  const t = timelineOf(run.events)
  const subtitle = [
    plan === undefined ? "" : `<code>${esc(plan.pipeline.file)}</code>`,
    s === undefined ? "" : `run <code>${esc(s.run.id)}</code>`,
    s?.finished_at === undefined ? "" : `finished ${esc(s.finished_at.replace("T", " ").slice(0, 19))} UTC`,
    plan?.catalog === undefined ? "" : `prices: ${esc(plan.catalog.label)}`
  ]
    .filter((x) => x !== "")
    .join(" · ")
  const days = freePerDay(run.events)
  return page({
    title: `${name}: run report`,
    heading: `${name}: run report`,
    subtitle,
    top: totals(run),
    sections: [
      ...(plan === undefined
        ? []
        : [{ id: "cost", title: "Cost per step", body: costPerStep(plan.steps, s !== undefined) }]),
      { id: "timeline", title: "Timeline", body: timelineSection(t) },
      {
        id: "free",
        title: "Free quota",
        body: freeDays(days, plan?.quota.free_per_day, "attempts, failed ones too")
      },
      { id: "outputs", title: "Outputs", body: outputsSection(run) }
    ]
  })
}
