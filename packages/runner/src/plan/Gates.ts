/** The plan's gates: what makes `runner plan` exit 3 and `runner run` send nothing. Pure. */
import * as Money from "@tollgate/pricing/Money"
import * as Policy from "@tollgate/pricing/Policy"
import type { FreeDay } from "./Days.ts"
import type { OverflowPlan } from "./OverflowProjection.ts"
import type { StepProjection } from "./StepProjection.ts"

export interface Violation {
  readonly kind:
    | "max_cost_usd"
    | "max_requests"
    | "max_free_requests"
    | "free_quota"
    | "context_window"
    | "incomplete"
    | "key_limit"
    | "provider_budget"
    | "balance"
    | "deadline"
  readonly message: string
}

export interface Budget {
  readonly maxCostUsd: number | undefined
  readonly maxRequests: number | undefined
  readonly maxFreeRequests: number | undefined
  readonly gate: "max" | "expected"
}

export interface GateInput {
  readonly steps: ReadonlyArray<StepProjection & { readonly maxTokens: number }>
  readonly complete: boolean
  readonly budget: Budget
  readonly sent: number
  readonly freeRequests: number
  readonly costExpected: Money.Usd
  readonly costMax: Money.Usd
  readonly quota: {
    readonly freePerDay: number
    readonly freeLeftToday: number
    readonly days: ReadonlyArray<FreeDay>
  }
  /** The key's own spending cap at the provider, when it has one. */
  readonly keyLimit?: { readonly limitUsd: number; readonly remainingUsd: number } | undefined
  /** The account's balance, when known (declared or from the provider): credits run out past it. */
  readonly balanceUsd?: number | undefined
  /** The key's budget layers at the provider (guardrail, member, workspace …) with what is left of each. */
  readonly budgets?:
    | ReadonlyArray<{
        readonly scope: string
        readonly limitUsd: number | null
        readonly remainingUsd: number
        readonly resetsAt: string | null
      }>
    | undefined
  readonly now: Date
  /** With a deadline: where the free requests go and what the overflow costs. */
  readonly overflow?: OverflowPlan | undefined
}

const incomplete = (g: GateInput): Violation[] => {
  const b = g.budget
  const bounded = b.maxCostUsd !== undefined || b.maxRequests !== undefined || b.maxFreeRequests !== undefined
  if (g.complete || !(bounded || g.steps.some((s) => s.free))) return []
  const unknown = g.steps.filter((s) => !s.countKnown).map((s) => `"${s.id}"`)
  return [
    {
      kind: "incomplete",
      message: `the number of requests of step ${unknown.join(", ")} depends on an upstream output; set max_items on it so the plan can bound the run`
    }
  ]
}

const cost = (g: GateInput): Violation[] => {
  const { maxCostUsd, gate } = g.budget
  if (maxCostUsd === undefined) return []
  const gated = gate === "expected" ? g.costExpected : g.costMax
  const limit = Money.fromNumber(maxCostUsd)
  if (!Money.gt(gated, limit)) return []
  return [
    {
      kind: "max_cost_usd",
      message: `${gate === "expected" ? "expected" : "maximum"} cost ${Money.format(Money.round(gated, 6))} exceeds budget.max_cost_usd ${Money.format(limit)}`
    }
  ]
}

const requests = (g: GateInput): Violation[] => {
  const out: Violation[] = []
  const { maxRequests, maxFreeRequests } = g.budget
  if (maxRequests !== undefined && g.sent > maxRequests)
    out.push({
      kind: "max_requests",
      message: `${g.sent} requests exceed budget.max_requests ${maxRequests}`
    })
  // the run's share of each day's free quota: a bigger job needs days
  // a deadline places the free requests on days within the daily share itself
  if (maxFreeRequests !== undefined && g.freeRequests > maxFreeRequests && g.overflow === undefined)
    out.push({
      kind: "max_free_requests",
      message: `${g.freeRequests} free-model requests exceed budget.max_free_requests (${maxFreeRequests} a day); ${daysNeeded(g)}`
    })
  return out
}

/** How many days the free requests need, and how to run them; or that no number of days will do. */
const daysNeeded = (g: GateInput): string => {
  const placed = g.quota.days.reduce((n, d) => n + d.requests, 0)
  return placed < g.freeRequests
    ? "they do not fit in a year of daily quotas"
    : `they need ${g.quota.days.length} UTC days (${daysText(g.quota.days)}): \`runner run --until-done\` waits for each reset and goes on, or a nightly job resumes where the last stopped`
}

/** A spending limit at the provider that refuses what would pass what is left of it. */
interface ProviderLimit {
  readonly kind: "key_limit" | "provider_budget" | "balance"
  readonly remainingUsd: number
  /** "the key's own limit at the provider: $X of $Y" */
  readonly what: string
  readonly remedy: string
}

/** The key's cap, its budget layers and the balance, the tightest first. */
const providerLimits = (g: GateInput): ProviderLimit[] =>
  [
    ...(g.keyLimit !== undefined
      ? [
          {
            kind: "key_limit" as const,
            remainingUsd: g.keyLimit.remainingUsd,
            what: `the key's own limit at the provider: ${Money.format(Money.fromNumber(g.keyLimit.remainingUsd))} of ${Money.format(Money.fromNumber(g.keyLimit.limitUsd))}`,
            remedy: "raise the key's limit or use another key"
          }
        ]
      : []),
    ...(g.budgets ?? []).map((b) => ({
      kind: "provider_budget" as const,
      remainingUsd: b.remainingUsd,
      what: `the provider's ${b.scope} budget: ${Money.format(Money.fromNumber(b.remainingUsd))}${b.limitUsd !== null ? ` of ${Money.format(Money.fromNumber(b.limitUsd))}` : ""}${b.resetsAt !== null ? `, until it resets at ${b.resetsAt}` : ""}`,
      remedy: b.resetsAt !== null ? "raise it, or run after its reset" : "raise it"
    })),
    ...(g.balanceUsd !== undefined
      ? [
          {
            kind: "balance" as const,
            remainingUsd: g.balanceUsd,
            what: `the account's balance: ${Money.format(Money.fromNumber(g.balanceUsd))}`,
            remedy: "add credits"
          }
        ]
      : [])
  ].sort((a, b) => a.remainingUsd - b.remainingUsd)

/**
 * The provider refuses (402, 403) what would pass what is left of the key's cap or of a budget
 * layer: the plan says so first, naming the one that binds (the smallest).
 */
const providerLimit = (g: GateInput): Violation[] => {
  const binding = providerLimits(g)[0]
  if (binding === undefined) return []
  const gated = g.budget.gate === "expected" ? g.costExpected : g.costMax
  if (!Money.gt(gated, Money.fromNumber(binding.remainingUsd))) return []
  return [
    {
      kind: binding.kind,
      message: `${g.budget.gate === "expected" ? "expected" : "maximum"} cost ${Money.format(Money.round(gated, 6))} exceeds what is left of ${binding.what}; ${binding.remedy}`
    }
  ]
}

/** Where the days went: "50 on 2026-11-23, 50 on 2026-11-24, 20 on 2026-11-25". */
export const daysText = (days: ReadonlyArray<FreeDay>): string =>
  days.map((d) => `${d.requests} on ${d.date}`).join(", ")

const freeQuota = (g: GateInput): Violation[] => {
  // a deadline plans the days itself (and gates on them)
  if (g.freeRequests <= g.quota.freeLeftToday || g.overflow !== undefined) return []
  const reset = Policy.isoInstant(Policy.nextUtcMidnight(g.now))
  const needs = daysNeeded(g)
  return [
    {
      kind: "free_quota",
      message: `${g.freeRequests} free-model requests exceed today's free quota left (${g.quota.freeLeftToday} of ${g.quota.freePerDay}; resets at ${reset}); ${needs}`
    }
  ]
}

/** The expected prompt plus `max_tokens` must fit the context (the byte bound overstates tokens several-fold). */
const contextWindow = (g: GateInput): Violation[] =>
  g.steps.flatMap((s) =>
    s.contextLength !== undefined &&
    s.expectedPromptPeak + (s.requests > 0 ? s.maxTokens : 0) > s.contextLength
      ? [
          {
            kind: "context_window" as const,
            message: `step "${s.id}": a prompt of ~${s.expectedPromptPeak} tokens plus max_tokens${s.pack !== undefined ? ` (${s.maxTokens} for a pack of ${s.pack}: a smaller pack fits better)` : ""} exceeds the model's context of ${s.contextLength}`
          }
        ]
      : []
  )

/** An instant as people read it: `2026-12-05 09:00Z`. */
const instant = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace("T", " ") + "Z"

/**
 * The deadline's gates: not passed already; every free request of a step without overflow done
 * by then; and the overflow it needs within the budget. Each says what would meet it.
 */
const deadline = (g: GateInput): Violation[] => {
  const o = g.overflow
  if (o === undefined) return []
  const when = instant(o.deadlineMs)
  if (o.deadlineMs <= g.now.getTime())
    return [{ kind: "deadline", message: `the deadline ${when} has passed; give a later one (--deadline)` }]
  const later =
    o.freeOnly.lastDay === undefined
      ? ""
      : `a deadline after ${o.freeOnly.lastDay} (free only needs ${o.freeOnly.days} day${o.freeOnly.days === 1 ? "" : "s"})`
  const out: Violation[] = []
  if (o.late > 0)
    out.push({
      kind: "deadline",
      message: `${o.late} free-model request${o.late === 1 ? "" : "s"} of steps without overflow cannot be done by ${when}; add overflow: {} to them, or ${later || "a later deadline"}`
    })
  const { maxCostUsd, gate } = g.budget
  const paid = o.steps.reduce((n, s) => n + s.placement.paid, 0)
  if (maxCostUsd !== undefined && paid > 0) {
    const need = gate === "expected" ? o.withOverflow.expected : o.withOverflow.max
    if (Money.gt(need, Money.fromNumber(maxCostUsd)))
      out.push({
        kind: "deadline",
        message: `meeting ${when} needs ${paid} paid request${paid === 1 ? "" : "s"} (${Money.format(Money.round(need, 6))} ${gate === "expected" ? "expected" : "at most"} in all) and the budget is ${Money.format(Money.fromNumber(maxCostUsd))}: ${later || "a later deadline"}, or max_cost_usd: ${Money.toPlain(Money.round(need, 6))}, would meet it`
      })
  }
  return out
}

/** Every gate the plan fails, in a fixed order. */
export const violations = (g: GateInput): Violation[] => [
  ...incomplete(g),
  ...deadline(g),
  ...cost(g),
  ...providerLimit(g),
  ...requests(g),
  ...freeQuota(g),
  ...contextWindow(g)
]
