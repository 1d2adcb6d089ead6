/** The run summary (`summary.json`, `runner run --format json`): the plan's fields plus what actually happened. Pure. */
import * as Money from "@tollgate/pricing/Money"
import type { PlanJson } from "../plan/PlanJson.ts"
import type { RunOutcome } from "./Execute.ts"
import type { StepActual } from "./Tally.ts"

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

const stepActual = (a: StepActual) => {
  const fresh = a.completed - a.cached - a.reused
  return {
    requests: a.requests,
    completed: a.completed,
    cached: a.cached,
    reused: a.reused,
    failed: a.failed,
    retries: a.retries,
    rate_limited: a.rateLimited,
    skipped: a.skipped,
    cost_usd: Money.toNumber(a.cost),
    prompt_tokens: a.promptTokens,
    completion_tokens: a.completionTokens,
    completion_tokens_mean: fresh > 0 ? a.completionTokens / fresh : null,
    truncated: a.truncated
  }
}

/** How much of the cost the provider reported, and how much was estimated (tokens × catalog, or the worst case). */
const provenance = (o: RunOutcome) => {
  const catalog = Money.sum([...o.steps.values()].map((a) => a.costCatalog))
  const bound = Money.sum([...o.steps.values()].map((a) => a.costBound))
  return {
    provider_usd: Money.toNumber(Money.sub(o.cost, Money.add(catalog, bound))),
    catalog_usd: Money.toNumber(catalog),
    bound_usd: Money.toNumber(bound)
  }
}

export const summaryOf = (
  plan: PlanJson,
  o: RunOutcome,
  records: { readonly id: string; readonly dir: string },
  finishedAt: Date
) => ({
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
    cost_usd: Money.toNumber(o.cost),
    cost_usd_exact: Money.toPlain(o.cost),
    /** Where the cost came from: the provider's `usage.cost`, tokens × catalog, or the worst case (no usage). */
    cost_sources: provenance(o),
    truncated: sum(o, (a) => a.truncated),
    /** Whether the run cost no more than the plan's likely high. */
    within_p90: Money.toNumber(o.cost) <= plan.cost_usd.p90,
    duration_s: Math.round(o.durationMs) / 1000
  },
  cache: o.cacheStats,
  steps: plan.steps.map((s) => ({ ...s, actual: stepActual(o.steps.get(s.id)!) })),
  outputs: o.outputs
})
export type RunSummary = ReturnType<typeof summaryOf>
