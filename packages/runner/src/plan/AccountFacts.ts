/**
 * What the plan and the run take as the account: the free-tier (credits purchased), the balance
 * (paid pacing) and the key's own spending cap, each with where it came from. The pipeline's
 * `account:` block wins; then what the provider says (`GET /key`, `GET /credits` with a
 * management key); then what an earlier run learned from `X-RateLimit-Limit`; then the defaults
 * (50 free requests a day, no paid pacing, no cap). Pure.
 */

import type { Discovered } from "../providers/Account.ts"

export type Source = "declared" | "provider" | "learned" | "default"

export interface Sourced<A> {
  readonly value: A
  readonly source: Source
}

export interface AccountFacts {
  /** Decides the free tier: at or above the policy's threshold ($10), 1,000 a day. */
  readonly creditsPurchasedUsd: Sourced<number>
  /** Paid pacing follows it; undefined: not known, no paid pacing. */
  readonly balanceUsd: Sourced<number | undefined>
  /** The key's own cap, when it has one. */
  readonly keyLimit: { readonly limitUsd: number; readonly remainingUsd: number } | undefined
}

/** The credits a learned daily limit stands for (at the default threshold: 1,000 a day from $10). */
const creditsForPerDay = (perDay: number, highPerDay: number, thresholdUsd: number) =>
  perDay >= highPerDay ? thresholdUsd : 0

const tier = (
  declared: number | undefined,
  d: Discovered,
  policy: { readonly perDayHigh: number; readonly creditsThresholdUsd: number }
): Sourced<number> => {
  if (declared !== undefined) return { value: declared, source: "declared" }
  if (d.credits !== undefined) return { value: d.credits.totalCredits, source: "provider" }
  // the provider knows for sure when the account never bought credits; `false` cannot tell 50 from 1,000
  if (d.key?.isFreeTier === true) return { value: 0, source: "provider" }
  if (d.learnedFreePerDay !== undefined)
    return {
      value: creditsForPerDay(d.learnedFreePerDay, policy.perDayHigh, policy.creditsThresholdUsd),
      source: "learned"
    }
  return { value: 0, source: "default" }
}

export const accountFacts = (
  declared: { readonly creditsPurchasedUsd: number | undefined; readonly balanceUsd: number | undefined },
  d: Discovered,
  policy: { readonly perDayHigh: number; readonly creditsThresholdUsd: number }
): AccountFacts => ({
  creditsPurchasedUsd: tier(declared.creditsPurchasedUsd, d, policy),
  balanceUsd:
    declared.balanceUsd !== undefined
      ? { value: declared.balanceUsd, source: "declared" }
      : d.credits !== undefined
        ? { value: Math.max(0, d.credits.totalCredits - d.credits.totalUsage), source: "provider" }
        : { value: undefined, source: "default" },
  keyLimit:
    d.key?.limit != null && d.key.limitRemaining != null
      ? { limitUsd: d.key.limit, remainingUsd: d.key.limitRemaining }
      : undefined
})
