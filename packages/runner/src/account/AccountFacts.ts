/**
 * What the plan and the run take as the account: the free tier (free-model requests a day), the
 * account's free-model count today, the balance (paid pacing), the key's own spending cap and its
 * budget layers, each with where it came from. The pipeline's `account:` block and
 * `limits.free.per_day` win; then what the provider says (`GET /key`, with its free counter and
 * budget layers; `GET /credits` with a management key); then what an earlier run learned from
 * `X-RateLimit-Limit`; then the defaults (50 free requests a day, no paid pacing, no cap). Pure.
 */
import * as Policy from "@tollgate/pricing/Policy"
import type { BudgetLayer, Discovered } from "../providers/ProviderAccount.ts"

export type Source = "declared" | "provider" | "learned" | "default"

export interface Sourced<A> {
  readonly value: A
  readonly source: Source
}

export interface AccountFacts {
  /** Decides the free tier where nothing names it: at or above the policy's threshold ($10), 1,000 a day. */
  readonly creditsPurchasedUsd: Sourced<number>
  /** Free-model requests a day. */
  readonly freePerDay: Sourced<number>
  /**
   * Free-model requests the provider counted today for the whole account (every key and client),
   * when it reports its counter; the ledger's own count is the other figure, and the larger wins.
   */
  readonly freeUsedByProvider: number | undefined
  /** Paid pacing follows it; undefined: not known, no paid pacing. */
  readonly balanceUsd: Sourced<number | undefined>
  /** The key's own cap, when it has one. */
  readonly keyLimit: { readonly limitUsd: number; readonly remainingUsd: number } | undefined
  /** The key's budget layers with a known remainder (guardrail, member, workspace …). */
  readonly budgets: ReadonlyArray<BudgetLayer & { readonly remainingUsd: number }>
}

export interface Declared {
  readonly creditsPurchasedUsd: number | undefined
  readonly balanceUsd: number | undefined
  /** `limits.free.per_day`. */
  readonly freePerDay?: number | undefined
}

type FreePolicy = Policy.Policy["free"]

const tier = (declared: number | undefined, d: Discovered, policy: FreePolicy): Sourced<number> => {
  if (declared !== undefined) return { value: declared, source: "declared" }
  if (d.credits !== undefined) return { value: d.credits.totalCredits, source: "provider" }
  // the provider knows for sure when the account never bought credits; `false` cannot tell 50 from 1,000
  if (d.key?.isFreeTier === true) return { value: 0, source: "provider" }
  if (d.learnedFreePerDay !== undefined)
    return {
      value: d.learnedFreePerDay >= policy.perDayHigh ? policy.creditsThresholdUsd : 0,
      source: "learned"
    }
  return { value: 0, source: "default" }
}

/** The provider's free counter, when it was read today (UTC): it counts one day only. */
const counterToday = (d: Discovered, now: Date) =>
  d.key?.freeModelDailyRequests !== undefined &&
  (d.fetchedAt === undefined || Policy.utcDay(new Date(d.fetchedAt)) === Policy.utcDay(now))
    ? d.key.freeModelDailyRequests
    : undefined

const perDay = (declared: Declared, d: Discovered, policy: FreePolicy, now: Date): Sourced<number> => {
  const credits = tier(declared.creditsPurchasedUsd, d, policy)
  const byCredits = credits.value >= policy.creditsThresholdUsd ? policy.perDayHigh : policy.perDayLow
  if (declared.freePerDay !== undefined) return { value: declared.freePerDay, source: "declared" }
  if (credits.source === "declared") return { value: byCredits, source: "declared" }
  const counter = counterToday(d, now)
  if (counter !== undefined) return { value: counter.limit, source: "provider" }
  if (credits.source === "provider") return { value: byCredits, source: "provider" }
  // any daily figure the replies named (a tier of 15 too), not only the policy's two
  if (d.learnedFreePerDay !== undefined) return { value: d.learnedFreePerDay, source: "learned" }
  return { value: byCredits, source: credits.source }
}

export const accountFacts = (
  declared: Declared,
  d: Discovered,
  policy: FreePolicy,
  now: Date
): AccountFacts => ({
  creditsPurchasedUsd: tier(declared.creditsPurchasedUsd, d, policy),
  freePerDay: perDay(declared, d, policy, now),
  freeUsedByProvider: counterToday(d, now)?.used,
  balanceUsd:
    declared.balanceUsd !== undefined
      ? { value: declared.balanceUsd, source: "declared" }
      : d.credits !== undefined
        ? { value: Math.max(0, d.credits.totalCredits - d.credits.totalUsage), source: "provider" }
        : { value: undefined, source: "default" },
  keyLimit:
    d.key?.limit != null && d.key.limitRemaining != null
      ? { limitUsd: d.key.limit, remainingUsd: d.key.limitRemaining }
      : undefined,
  budgets: (d.key?.budgets ?? []).flatMap((b) =>
    b.remainingUsd !== null ? [{ ...b, remainingUsd: Math.max(0, b.remainingUsd) }] : []
  )
})
