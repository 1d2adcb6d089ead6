/** What a provider says about the account a key belongs to: the shapes discovery answers in. */

/** `GET {base_url}/key`: the key's cap and what is left of it (USD; null: no cap). */
export interface KeyInfo {
  readonly limit: number | null
  readonly limitRemaining: number | null
  readonly usageDaily?: number | undefined
  /** The account never bought credits: 50 free requests a day. */
  readonly isFreeTier?: boolean | undefined
  readonly expiresAt?: string | null | undefined
  /** The account's free-model counter for the UTC day (every key and client); it lags about a minute. */
  readonly freeModelDailyRequests?: FreeCounter | undefined
  /** The key's budget layers (guardrail, member, workspace, key limit), where the provider lists them. */
  readonly budgets?: ReadonlyArray<BudgetLayer> | undefined
}

/** `free_model_daily_requests` of `GET /key`. */
export interface FreeCounter {
  readonly limit: number
  readonly used: number
  readonly remaining: number
}

/** One of OpenRouter's budget layers (`KeyBudget`): what is left of it and when it resets. */
export interface BudgetLayer {
  readonly scope: string
  readonly limitUsd: number | null
  readonly remainingUsd: number | null
  readonly resetsAt: string | null
}

/** `GET {base_url}/credits` with a management key. */
export interface CreditsInfo {
  readonly totalCredits: number
  readonly totalUsage: number
}

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
