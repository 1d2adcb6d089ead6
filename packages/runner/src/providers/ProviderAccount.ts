/**
 * What a provider says about the account a key belongs to: the shapes discovery answers in,
 * each written once as a Schema (the account cache stores and decodes these same shapes).
 */
import * as Schema from "effect/Schema"

const Usd = Schema.NullOr(Schema.Number)

/** `free_model_daily_requests` of `GET /key`. */
export const FreeCounter = Schema.Struct({
  limit: Schema.Number,
  used: Schema.Number,
  remaining: Schema.Number
})
export type FreeCounter = typeof FreeCounter.Type

/** One of OpenRouter's budget layers (`KeyBudget`): what is left of it and when it resets. */
export const BudgetLayer = Schema.Struct({
  scope: Schema.String,
  limitUsd: Usd,
  remainingUsd: Usd,
  resetsAt: Schema.NullOr(Schema.String)
})
export type BudgetLayer = typeof BudgetLayer.Type

/** `GET {base_url}/key`: the key's cap and what is left of it (USD; null: no cap). */
export const KeyInfo = Schema.Struct({
  limit: Usd,
  limitRemaining: Usd,
  usageDaily: Schema.optional(Schema.Number),
  /** The account never bought credits: 50 free requests a day. */
  isFreeTier: Schema.optional(Schema.Boolean),
  expiresAt: Schema.optional(Schema.NullOr(Schema.String)),
  /** The account's free-model counter for the UTC day (every key and client); it lags about a minute. */
  freeModelDailyRequests: Schema.optional(FreeCounter),
  /** The key's budget layers (guardrail, member, workspace, key limit), where the provider lists them. */
  budgets: Schema.optional(Schema.Array(BudgetLayer))
})
export type KeyInfo = typeof KeyInfo.Type

/** `GET {base_url}/credits` with a management key. */
export const CreditsInfo = Schema.Struct({ totalCredits: Schema.Number, totalUsage: Schema.Number })
export type CreditsInfo = typeof CreditsInfo.Type

/** What discovery found (each part may be missing), and why a part is missing when it failed. */
export interface Discovered {
  readonly key?: KeyInfo | undefined
  /** When the provider's answer was fetched (epoch ms): its free counter holds for that UTC day. */
  readonly fetchedAt?: number | undefined
  readonly credits?: CreditsInfo | undefined
  /** Free requests a day, from the `X-RateLimit-Limit` of an earlier run's free-model replies. */
  readonly learnedFreePerDay?: number | undefined
  readonly warnings: ReadonlyArray<string>
}

export const nothingDiscovered: Discovered = { warnings: [] }
