/** What a provider says about the account a key belongs to: the shapes discovery answers in. */

/** `GET {base_url}/key`: the key's cap and what is left of it (USD; null: no cap). */
export interface KeyInfo {
  readonly limit: number | null
  readonly limitRemaining: number | null
  readonly usageDaily?: number | undefined
  /** The account never bought credits: 50 free requests a day. */
  readonly isFreeTier?: boolean | undefined
  readonly expiresAt?: string | null | undefined
}

/** `GET {base_url}/credits` with a management key. */
export interface CreditsInfo {
  readonly totalCredits: number
  readonly totalUsage: number
}

/** What discovery found (each part may be missing), and why a part is missing when it failed. */
export interface Discovered {
  readonly key?: KeyInfo | undefined
  readonly credits?: CreditsInfo | undefined
  /** Free requests a day, from the `X-RateLimit-Limit` of an earlier run's free-model replies. */
  readonly learnedFreePerDay?: number | undefined
  readonly warnings: ReadonlyArray<string>
}

export const nothingDiscovered: Discovered = { warnings: [] }
