/** What each step actually did: requests, cache hits, reuse, retries, cost, as a fold over its results. Every billed attempt counts. Pure. */
import type { RequestFailed } from "@tollgate/core/Engine"
import * as Money from "@tollgate/pricing/Money"
import type { ItemResult, Route } from "./ItemResult.ts"
import { isTruncated } from "./Reply.ts"

export interface StepActual {
  readonly requests: number
  readonly cached: number
  readonly reused: number
  readonly retries: number
  /** Attempts that timed out, counted in `cost` at their worst case. */
  readonly abandoned: number
  readonly rateLimited: number
  readonly failed: number
  readonly skipped: boolean
  readonly cost: Money.Usd
  /** Prompt tokens the provider billed for fresh replies. */
  readonly promptTokens: number
  readonly completionTokens: number
  readonly completed: number
  /** Text replies cut off at `max_tokens` and kept (`output.truncated: allow`). */
  readonly truncated: number
  /** Of `cost`, what was estimated rather than billed: tokens × catalog (no `usage.cost`), and worst cases (no usage). */
  readonly costCatalog: Money.Usd
  readonly costBound: Money.Usd
  /** A step that overflows: answers from the free model, and from the paid one. */
  readonly freeRouted: number
  readonly paidRouted: number
}

export const emptyActual = (): StepActual => ({
  requests: 0,
  cached: 0,
  reused: 0,
  retries: 0,
  abandoned: 0,
  rateLimited: 0,
  failed: 0,
  skipped: false,
  cost: Money.zero,
  promptTokens: 0,
  completionTokens: 0,
  completed: 0,
  truncated: 0,
  costCatalog: Money.zero,
  costBound: Money.zero,
  freeRouted: 0,
  paidRouted: 0
})

/**
 * An overflow step's answer counted by the model that gave it (a fresh one's route, a reused
 * one's record); the free attempts before a paid one are requests too.
 */
const routed = (a: StepActual, route: Route | undefined): StepActual =>
  route === undefined
    ? a
    : {
        ...a,
        requests: a.requests + (route.freeAttempts ?? 0),
        freeRouted: a.freeRouted + (route.to === "free" ? 1 : 0),
        paidRouted: a.paidRouted + (route.to === "paid" ? 1 : 0)
      }

const routeOf = (r: ItemResult): Route | undefined =>
  r._tag === "done"
    ? r.route
    : r._tag === "reused" && r.record.route !== undefined
      ? { to: r.record.route }
      : undefined

/** A step's tally with one more item's result. */
export const tally = (before: StepActual, r: ItemResult): StepActual => {
  const a = routed(before, routeOf(r))
  switch (r._tag) {
    case "done": {
      const c = r.completion
      const completed = a.completed + 1
      // a pack's request counts once, with its first item
      if ((r.pack !== undefined && r.pack.position > 0) || c.cached)
        return { ...a, completed, cached: a.cached + (c.cached ? 1 : 0) }
      return {
        ...a,
        completed,
        requests: a.requests + c.attempts,
        retries: a.retries + c.attempts - 1,
        rateLimited: a.rateLimited + c.rateLimited,
        abandoned: a.abandoned + c.abandoned,
        cost: Money.add(a.cost, c.cost),
        costCatalog: Money.add(a.costCatalog, c.estimated.catalog),
        costBound: Money.add(a.costBound, c.estimated.bound),
        truncated: a.truncated + (isTruncated(c.reply) ? 1 : 0),
        promptTokens: a.promptTokens + (c.usage?.promptTokens ?? 0),
        completionTokens: a.completionTokens + (c.usage?.completionTokens ?? 0)
      }
    }
    case "reused":
      return { ...a, completed: a.completed + 1, reused: a.reused + 1 }
    case "invalid":
      return { ...a, failed: a.failed + 1 }
    case "failed": {
      const e = r.error
      // a request the stop kept from being sent cost nothing
      if (e._tag === "RunStopped") return a
      const failed = { ...a, failed: a.failed + 1 }
      return r.pack === undefined || r.pack.position === 0 ? spend(failed, e) : failed
    }
    case "split":
      return spend(a, r.error)
  }
}

/** A request that failed for good (or a pack that went again smaller): its attempts and what they were billed. */
const spend = (a: StepActual, e: RequestFailed): StepActual => ({
  ...a,
  requests: a.requests + e.attempts,
  retries: a.retries + Math.max(0, e.attempts - 1),
  rateLimited: a.rateLimited + e.rateLimited,
  abandoned: a.abandoned + e.abandoned,
  // replies that failed their check were billed even though the request failed in the end
  cost: Money.add(a.cost, Money.usd(e.costUsd)),
  costCatalog: Money.add(a.costCatalog, Money.usd(e.estimatedCatalogUsd ?? "0")),
  costBound: Money.add(a.costBound, Money.usd(e.estimatedBoundUsd ?? "0"))
})
