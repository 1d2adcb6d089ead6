/** Plan reports for people: a terminal table and markdown for PR comments. Pure over plan JSON. */
import type { PlanJson } from "../plan/PlanJson.ts"
import { duration, money } from "./Format.ts"
import { type Column, renderMarkdownTable, renderTable } from "./Table.ts"

const COLUMNS: ReadonlyArray<Column> = [
  { header: "step" },
  { header: "model" },
  { header: "requests", align: "right" },
  { header: "cached", align: "right" },
  { header: "prompt tok (exp/max)", align: "right" },
  { header: "completion tok (exp/max)", align: "right" },
  { header: "cost expected", align: "right" },
  { header: "cost p90", align: "right" },
  { header: "cost max", align: "right" }
]

type PlanStep = PlanJson["steps"][number]

const modelOf = (s: PlanStep) =>
  (Array.isArray(s.model) ? s.model.join(" > ") : String(s.model)) + (s.free ? " (free)" : "")

const requestsOf = (s: PlanStep) =>
  "skipped" in s && s.skipped
    ? "0 (when)"
    : !s.count_known
      ? "?"
      : "pack" in s
        ? `${s.requests} (${s.items} items)`
        : String(s.requests)

const rows = (plan: PlanJson) =>
  plan.steps.map((s) => [
    s.id,
    modelOf(s),
    requestsOf(s),
    String(s.cached),
    `${s.tokens.prompt.expected}/${s.tokens.prompt.max}`,
    `${s.tokens.completion.expected}/${s.tokens.completion.max}`,
    money(s.cost_usd.expected),
    money(s.cost_usd.p90),
    money(s.cost_usd.max)
  ])

/** The terminal's columns: narrow, the model on a line of its own under each step (as `gh` lists do), so it fits 100 columns. */
const TERMINAL: ReadonlyArray<Column> = [
  { header: "step" },
  { header: "requests", align: "right" },
  { header: "prompt tok", align: "right" },
  { header: "completion tok", align: "right" },
  { header: "expected", align: "right" },
  { header: "p90", align: "right" },
  { header: "max", align: "right" }
]

/** A count as the terminal table shows it: as is below 10,000, else 12.3k, 1.3M. */
const compact = (n: number): string =>
  n < 10_000 ? String(n) : n < 1e6 ? `${Number((n / 1e3).toFixed(1))}k` : `${Number((n / 1e6).toFixed(1))}M`

/** Dollars as the terminal table shows them: cents from $1 up (the JSON keeps every digit). */
const dollars = (n: number): string => (n >= 1 ? `$${n.toFixed(2)}` : money(n))

const terminalTable = (plan: PlanJson): string => {
  const table = renderTable(
    TERMINAL,
    plan.steps.map((s) => [
      s.id,
      (s.count_known && !("pack" in s) && !("skipped" in s && s.skipped)
        ? compact(s.requests)
        : requestsOf(s)) + (s.cached > 0 ? ` (${compact(s.cached)} cached)` : ""),
      `${compact(s.tokens.prompt.expected)}/${compact(s.tokens.prompt.max)}`,
      `${compact(s.tokens.completion.expected)}/${compact(s.tokens.completion.max)}`,
      dollars(s.cost_usd.expected),
      dollars(s.cost_usd.p90),
      dollars(s.cost_usd.max)
    ])
  ).split("\n")
  // header and rule, then each step's row followed by its model
  return [...table.slice(0, 2), ...plan.steps.flatMap((s, i) => [table[2 + i]!, `  ${modelOf(s)}`]), ""].join(
    "\n"
  )
}

/** The account's figures and where each came from: declared, provider, learned or default. */
export const accountLine = (a: PlanJson["account"]): string =>
  [
    `account: ${a.free_per_day.value} free-model requests a day (${a.free_per_day.source})`,
    a.balance_usd.value !== null
      ? `balance ${money(a.balance_usd.value)} (${a.balance_usd.source})`
      : "balance not known (no paid pacing)",
    ...(a.key_limit_usd !== null
      ? [`key limit ${money(a.key_limit_usd.remaining)} left of ${money(a.key_limit_usd.limit)} (provider)`]
      : []),
    ...a.budgets.map(
      (b) =>
        `${b.scope} budget ${money(b.remaining_usd)} left${b.limit_usd !== null ? ` of ${money(b.limit_usd)}` : ""}${b.resets_at !== null ? ` until ${b.resets_at}` : ""} (provider)`
    )
  ].join(", ")

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`

const verdict = (plan: PlanJson): string =>
  plan.ok ? "within budget and quota" : `over a limit: ${plan.violations.map((v) => v.kind).join(", ")}`

/** `2026-12-05T09:00:00.000Z` → `2026-12-05 09:00Z`. */
const instant = (iso: string) => `${iso.slice(0, 16).replace("T", " ")}Z`

/** With a deadline: where each overflow step's requests go, and the alternatives side by side. */
const deadlineLines = (plan: PlanJson): string[] => {
  if (!("deadline" in plan) || plan.deadline === undefined) return []
  const d = plan.deadline
  const a = d.alternatives
  return [
    `deadline ${instant(d.at)}:`,
    ...d.steps.map((s) => {
      const free = s.free_by_day.map((x) => `${x.free_requests} free on ${x.date}`)
      const paid =
        s.paid_requests > 0
          ? [
              `${s.paid_requests} on ${s.paid_model} (paid): ${money(s.paid_cost_usd.expected)} expected, ${money(s.paid_cost_usd.max)} at most`
            ]
          : []
      return `  ${s.id}: ${[...free, ...paid].join(", ") || "nothing to send"}`
    }),
    `  free only: ${a.free_only.last_day === null ? "nothing free to send" : `${plural(a.free_only.days, "day")}, done ${a.free_only.last_day}${a.free_only.meets_deadline ? "" : " (after the deadline)"}`}; with overflow: ${money(a.with_overflow.cost_usd.expected)} expected (${money(a.with_overflow.cost_usd.max)} at most) by the deadline; all paid now: ${money(a.all_paid.cost_usd.expected)} expected`
  ]
}

const summaryLines = (plan: PlanJson): string[] => {
  const b = plan.budget
  const limits = [
    b.max_cost_usd !== null ? `max_cost_usd ${money(b.max_cost_usd)} (gate: ${b.gate})` : undefined,
    b.max_requests !== null ? `max_requests ${b.max_requests}` : undefined,
    b.max_free_requests !== null ? `max_free_requests ${b.max_free_requests}` : undefined
  ].filter(Boolean)
  return [
    `requests: ${plan.requests.max} to send, ${plan.requests.cached} cached${plan.complete ? "" : " (incomplete: some counts unknown)"}`,
    `cost: ${money(plan.cost_usd.expected)} expected, ${money(plan.cost_usd.p90)} likely high (p90), ${money(plan.cost_usd.max)} at most`,
    accountLine(plan.account),
    `free-model requests: ${plan.free_requests}; today's quota: ${plan.quota.free_used_today} used (${plan.account.free_used_today.source}), ${plan.quota.free_left_today} left of ${plan.quota.free_per_day}`,
    ...(plan.quota.days.length > 1
      ? [
          `free-model requests over ${plan.quota.days.length} UTC days: ${plan.quota.days.map((d) => `${d.free_requests} on ${d.date}`).join(", ")}`
        ]
      : []),
    ...("packing" in plan && plan.packing !== undefined
      ? [
          `packing: ${plan.packing.items} items in ${plural(plan.packing.requests, "request")}, ${plural(plan.packing.saved, "request")} (and free quota) saved`
        ]
      : []),
    ...deadlineLines(plan),
    `least time the rate limits allow: ${duration(plan.min_duration_s)}`,
    `budget: ${limits.length > 0 ? limits.join(", ") : "none set"}`,
    `verdict: ${verdict(plan)}`
  ]
}

export const renderPlanTable = (plan: PlanJson): string =>
  `plan: ${plan.pipeline.name} (${plan.pipeline.file})\n\n` +
  terminalTable(plan) +
  "\n" +
  summaryLines(plan).join("\n") +
  "\n" +
  plan.violations.map((v) => `  ✗ ${v.kind}: ${v.message}\n`).join("") +
  `catalog: ${plan.catalog.label} ${plan.catalog.date}\n`

export const renderPlanMarkdown = (plan: PlanJson): string =>
  `### ${plan.ok ? "✅" : "❌"} Tollgate plan: \`${plan.pipeline.name}\`\n\n` +
  renderMarkdownTable(COLUMNS, rows(plan)) +
  "\n" +
  summaryLines(plan)
    .map((l) => `- ${l}`)
    .join("\n") +
  "\n" +
  (plan.violations.length > 0
    ? `\n**Violations**\n\n${plan.violations.map((v) => `- \`${v.kind}\`: ${v.message}`).join("\n")}\n`
    : "") +
  `\n<sub>catalog: ${plan.catalog.label} ${plan.catalog.date}</sub>\n`
