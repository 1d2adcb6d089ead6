/**
 * OpenRouter's account limits as data (see spec/openrouter.md). Users override any field: the
 * provider's numbers change, and the docs and older write-ups disagree on some.
 */

export interface FreePolicy {
  /** Requests per minute to free models. */
  readonly rpm: number
  /** `account`: one bucket across all free models (the current docs); `model`: one per model. */
  readonly scope: "account" | "model"
  /** Free requests per UTC day while credits purchased are below `creditsThresholdUsd`. */
  readonly perDayLow: number
  /** Free requests per UTC day once credits purchased reach `creditsThresholdUsd`. */
  readonly perDayHigh: number
  readonly creditsThresholdUsd: number
  /** Failed attempts count against the daily quota (they do at OpenRouter). */
  readonly failedAttemptsCount: boolean
}

export interface PaidPolicy {
  /** Paid requests per second = clamp(balance in USD, minRps, maxRps), when a balance is known. */
  readonly minRps: number
  readonly maxRps: number
}

/** The window rate limits are counted over: at most N requests in any window, the provider's rule. */
export interface WindowPolicy {
  /** The window `rpm` limits are counted over (OpenRouter: 60 s); paid req/s always count over 1 s. */
  readonly windowMs: number
  /** Added to every window for clock and network jitter; undefined: `defaultMarginMs(window)`. */
  readonly marginMs: number | undefined
}

export interface Policy {
  readonly free: FreePolicy
  readonly paid: PaidPolicy
  readonly window: WindowPolicy
  /** Per-model overrides of the rate limit, e.g. a popular free model capped at 8 rpm. */
  readonly models: Readonly<Record<string, { readonly rpm?: number | undefined }>>
}

/** OpenRouter's published policy, Aug 2026. */
export const defaultPolicy: Policy = {
  free: {
    rpm: 20,
    scope: "account",
    perDayLow: 50,
    perDayHigh: 1000,
    creditsThresholdUsd: 10,
    failedAttemptsCount: true
  },
  paid: { minRps: 1, maxRps: 500 },
  window: { windowMs: 60_000, marginMs: undefined },
  models: {}
}

type Loose<T> = { readonly [K in keyof T]?: T[K] | undefined }
export interface PolicyOverrides {
  readonly free?: Loose<FreePolicy> | undefined
  readonly paid?: Loose<PaidPolicy> | undefined
  readonly window?: Loose<WindowPolicy> | undefined
  readonly models?: Readonly<Record<string, { readonly rpm?: number | undefined }>> | undefined
}

/** The default policy with the given fields replaced. */
export const make = (overrides: PolicyOverrides = {}, base: Policy = defaultPolicy): Policy => ({
  free: { ...base.free, ...stripUndefined(overrides.free ?? {}) },
  paid: { ...base.paid, ...stripUndefined(overrides.paid ?? {}) },
  window: { ...base.window, ...stripUndefined(overrides.window ?? {}) },
  models: { ...base.models, ...(overrides.models ?? {}) }
})

const stripUndefined = <T extends object>(o: Loose<T>): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>

/** Free-model requests allowed per UTC day for an account that has bought `creditsPurchasedUsd`. */
export const freeRequestsPerDay = (policy: Policy, creditsPurchasedUsd: number): number =>
  creditsPurchasedUsd >= policy.free.creditsThresholdUsd ? policy.free.perDayHigh : policy.free.perDayLow

/** Paid-model requests per second for a balance, or undefined when no balance is given (no cap known). */
export const paidRequestsPerSecond = (policy: Policy, balanceUsd: number | undefined): number | undefined => {
  if (balanceUsd === undefined) return undefined
  return Math.min(policy.paid.maxRps, Math.max(policy.paid.minRps, Math.floor(balanceUsd)))
}

/** Requests per minute for a free model, honouring per-model overrides. */
export const freeRpm = (policy: Policy, modelId: string): number =>
  policy.models[modelId]?.rpm ?? policy.free.rpm

/** The bucket a free model's requests draw from: one for the account, or one per model. */
export const freeRpmBucket = (policy: Policy, modelId: string): string =>
  policy.free.scope === "model" || policy.models[modelId]?.rpm !== undefined ? `free:${modelId}` : "free:*"

/** The next UTC midnight after `now`: when the daily free quota resets. */
export const nextUtcMidnight = (now: Date): Date =>
  new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1))

/** An instant as reports print it: ISO 8601 in UTC, without milliseconds when they are zero. */
export const isoInstant = (d: Date): string => d.toISOString().replace(".000Z", "Z")

/** The UTC day a timestamp falls on, `YYYY-MM-DD`: the key of the daily quota. */
export const utcDay = (now: Date): string => now.toISOString().slice(0, 10)

/**
 * The jitter margin added to a window when none is set: 1% of it, between 100 ms and 500 ms. The
 * window counts a request from the moment we send it; the provider, from when it arrives. On the
 * loopback simulator that gap measures 2–5 ms once a process is warm, 20–40 ms for a process's
 * first requests, and up to ~70 ms when eight processes start at once on two cores (BENCHMARKS.md);
 * to OpenRouter add the network's one-way delay and a TLS handshake per new connection, typically
 * 50–300 ms. 500 ms on a 60 s window covers both at a cost under 1% of the ideal pace.
 */
export const defaultMarginMs = (windowMs: number): number =>
  Math.min(500, Math.max(100, Math.round(windowMs / 100)))

/** The margin a policy adds to a window of `windowMs`. */
export const marginMs = (policy: Policy, windowMs: number): number =>
  policy.window.marginMs ?? defaultMarginMs(windowMs)
