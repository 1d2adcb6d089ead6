/** What each step actually did: requests, cache hits, reuse, retries, cost. Every billed attempt counts. */
import type { RequestFailed } from "@tollgate/core/Engine"
import * as Money from "@tollgate/pricing/Money"
import type { ItemResult } from "./ItemResult.ts"
import { isTruncated } from "./Reply.ts"

export interface StepActual {
  requests: number
  cached: number
  reused: number
  retries: number
  /** Attempts that timed out, counted in `cost` at their worst case. */
  abandoned: number
  rateLimited: number
  failed: number
  skipped: boolean
  cost: Money.Usd
  /** Prompt tokens the provider billed for fresh replies. */
  promptTokens: number
  completionTokens: number
  completed: number
  /** Text replies cut off at `max_tokens` and kept (`output.truncated: allow`). */
  truncated: number
  /** Of `cost`, what was estimated rather than billed: tokens × catalog (no `usage.cost`), and worst cases (no usage). */
  costCatalog: Money.Usd
  costBound: Money.Usd
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
  costBound: Money.zero
})

/** Adds one item's result to its step's tally. */
export const tally = (a: StepActual, r: ItemResult): void => {
  switch (r._tag) {
    case "done": {
      const c = r.completion
      a.completed++
      // a pack's request counts once, with its first item
      if (r.pack !== undefined && r.pack.position > 0) {
        if (c.cached) a.cached++
        return
      }
      if (c.cached) {
        a.cached++
        return
      }
      a.requests += c.attempts
      a.retries += c.attempts - 1
      a.rateLimited += c.rateLimited
      a.abandoned += c.abandoned
      a.cost = Money.add(a.cost, c.cost)
      a.costCatalog = Money.add(a.costCatalog, c.estimated.catalog)
      a.costBound = Money.add(a.costBound, c.estimated.bound)
      if (isTruncated(c.reply)) a.truncated++
      a.promptTokens += c.usage?.promptTokens ?? 0
      a.completionTokens += c.usage?.completionTokens ?? 0
      return
    }
    case "reused":
      a.completed++
      a.reused++
      return
    case "invalid":
      a.failed++
      return
    case "failed": {
      const e = r.error
      // a request the stop kept from being sent cost nothing
      if (e._tag === "RunStopped") return
      a.failed++
      if (r.pack === undefined || r.pack.position === 0) spend(a, e)
      return
    }
    case "split":
      spend(a, r.error)
  }
}

/** A request that failed for good (or a pack that went again smaller): its attempts and what they were billed. */
const spend = (a: StepActual, e: RequestFailed): void => {
  a.requests += e.attempts
  a.retries += Math.max(0, e.attempts - 1)
  a.rateLimited += e.rateLimited
  a.abandoned += e.abandoned
  // replies that failed their check were billed even though the request failed in the end
  a.cost = Money.add(a.cost, Money.usd(e.costUsd))
  a.costCatalog = Money.add(a.costCatalog, Money.usd(e.estimatedCatalogUsd ?? "0"))
  a.costBound = Money.add(a.costBound, Money.usd(e.estimatedBoundUsd ?? "0"))
}
