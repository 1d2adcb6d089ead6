/** The run summary (`summary.json`, `runner run --format json`): the plan's fields plus what actually happened. Pure. */
import * as Money from "@tollgate/pricing/Money"
import type { PlanJson } from "../plan/PlanJson.ts"
import type { RunOutcome } from "./Execute.ts"
import { driftJson, driftOf, type SettlementLine, type Target } from "./Settlement.ts"
import type { StepActual } from "./Tally.ts"

/** What settling against the provider found: the billed requests, and their settlements. */
export interface Settlement {
  readonly targets: ReadonlyArray<Target>
  readonly lines: ReadonlyArray<SettlementLine>
}

/** The exit code CI sees for a run's outcome. */
export const exitCodeOf = (o: Pick<RunOutcome, "status" | "stopKind">): number => {
  if (o.status === "completed") return 0
  if (o.status === "interrupted") return 130
  // a merge whose shards lack an answer is bad input (the shards' records): nothing was sent for it
  if (o.status === "failed") return o.stopKind === "merge-incomplete" ? 2 : 1
  // out of credits, a request too big for the provider's in-flight budget, a refused key, a lost
  // store: runtime failures; the rest (a provider budget layer with its reset among them) are gates
  return ["credits", "request-too-big", "unauthorized", "store"].includes(o.stopKind ?? "") ? 1 : 3
}

const sum = (o: RunOutcome, f: (a: StepActual) => number) =>
  [...o.steps.values()].reduce((n, a) => n + f(a), 0)

const stepActual = (a: StepActual, id: string, settled: Settlement | undefined) => {
  const fresh = a.completed - a.cached - a.reused
  const drift = settled === undefined ? undefined : driftOf(settled.targets, settled.lines, (s) => s === id)
  const cost = drift === undefined ? a.cost : Money.add(a.cost, drift.extraUsd)
  return {
    requests: a.requests,
    completed: a.completed,
    cached: a.cached,
    reused: a.reused,
    failed: a.failed,
    retries: a.retries,
    rate_limited: a.rateLimited,
    skipped: a.skipped,
    cost_usd: Money.toNumber(cost),
    ...(drift !== undefined ? { settlement: driftJson(drift) } : {}),
    prompt_tokens: a.promptTokens,
    completion_tokens: a.completionTokens,
    completion_tokens_mean: fresh > 0 ? a.completionTokens / fresh : null,
    truncated: a.truncated,
    ...(a.freeRouted + a.paidRouted > 0 ? { overflow: { free: a.freeRouted, paid: a.paidRouted } } : {})
  }
}

/** How much of the cost the provider reported, and how much was estimated (tokens × catalog, or the worst case). */
const provenance = (o: RunOutcome, extra: Money.Usd) => {
  const catalog = Money.sum([...o.steps.values()].map((a) => a.costCatalog))
  const bound = Money.sum([...o.steps.values()].map((a) => a.costBound))
  return {
    provider_usd: Money.toNumber(Money.sub(o.cost, Money.add(catalog, bound))),
    catalog_usd: Money.toNumber(catalog),
    bound_usd: Money.toNumber(bound),
    /** What the provider's bill (`/generation`) added over the replies' figures. */
    settled_extra_usd: Money.toNumber(extra)
  }
}

/**
 * Free first with a deadline: the answers from free models and from the paid overflow, and what
 * the free ones saved against sending all of them paid (each at the paid model's expected price).
 */
const overflowJson = (plan: PlanJson, steps: ReadonlyMap<string, StepActual>) => {
  if (!("deadline" in plan) || plan.deadline === undefined) return {}
  let free = 0
  let paid = 0
  let saved = Money.zero
  for (const d of plan.deadline.steps) {
    const a = steps.get(d.id)
    if (a === undefined) continue
    free += a.freeRouted
    paid += a.paidRouted
    saved = Money.add(saved, Money.times(Money.fromNumber(d.paid_request_expected_usd), a.freeRouted))
  }
  return { overflow: { free, paid, saved_usd: Money.toNumber(Money.round(saved, 9)) } }
}

export const summaryOf = (
  plan: PlanJson,
  o: RunOutcome,
  records: { readonly id: string; readonly dir: string },
  finishedAt: Date,
  settled?: Settlement
) => {
  const drift = settled === undefined ? undefined : driftOf(settled.targets, settled.lines)
  // every request counts at the larger of its reply's figure and its bill
  const cost = Money.add(o.cost, drift?.extraUsd ?? Money.zero)
  return {
    ...plan,
    status: o.status,
    ...(o.reason !== undefined ? { reason: o.reason, stop: o.stopKind } : {}),
    run: {
      id: records.id,
      dir: records.dir,
      // only a real provider's replies teach the plan (History.ts)
      provider: o.fromProvider ? ("http" as const) : ("local" as const)
    },
    finished_at: finishedAt.toISOString(),
    actual: {
      requests: sum(o, (a) => a.requests),
      cached: sum(o, (a) => a.cached),
      reused: sum(o, (a) => a.reused),
      retries: sum(o, (a) => a.retries),
      rate_limited: sum(o, (a) => a.rateLimited),
      // timed out: the provider may bill them; cost_usd counts them at their worst case
      abandoned: sum(o, (a) => a.abandoned),
      failed: sum(o, (a) => a.failed),
      cost_usd: Money.toNumber(cost),
      cost_usd_exact: Money.toPlain(cost),
      /** Where the cost came from: the provider's `usage.cost`, tokens × catalog, the worst case (no usage), the bill. */
      cost_sources: provenance(o, drift?.extraUsd ?? Money.zero),
      /** The paid answers checked against the provider's bill (`/generation`); absent when not asked. */
      ...(drift !== undefined ? { settlement: driftJson(drift) } : {}),
      truncated: sum(o, (a) => a.truncated),
      ...overflowJson(plan, o.steps),
      /** Whether the run cost no more than the plan's likely high. */
      within_p90: Money.toNumber(cost) <= plan.cost_usd.p90,
      duration_s: Math.round(o.durationMs) / 1000
    },
    cache: o.cacheStats,
    steps: plan.steps.map((s) => ({ ...s, actual: stepActual(o.steps.get(s.id)!, s.id, settled) })),
    outputs: o.outputs
  }
}
export type RunSummary = ReturnType<typeof summaryOf>
