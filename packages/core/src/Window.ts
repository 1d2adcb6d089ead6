/**
 * The sliding-window rule a provider states: at most `limit` requests in any window of
 * `windowMs`. A request sent at `t` counts while `now < t + windowMs`. Pure: the in-memory
 * limiter and the plan use it as is; the Redis limiter's Lua script is the same rule.
 */

/** When a request may go: 0 if it fits now, else ms until enough of `times` leave the window. */
export const delayMs = (
  times: ReadonlyArray<number>,
  limit: number,
  windowMs: number,
  now: number
): number => {
  const live = liveTimes(times, windowMs, now)
  if (live.length < limit) return 0
  // the oldest `live.length - limit + 1` must leave; the last of them leaves at its time + window
  return live[live.length - limit]! + windowMs - now
}

/** The times still inside the window at `now`, oldest first. */
export const liveTimes = (
  times: ReadonlyArray<number>,
  windowMs: number,
  now: number
): ReadonlyArray<number> => times.filter((t) => t > now - windowMs).sort((a, b) => a - b)

/** What the provider told us about a bucket's limit. */
export interface Evidence {
  /** It refused (429) a request after this many of ours in the window: it allows at most that many. */
  readonly before: number | undefined
  /** The limit it stated (`X-RateLimit-Limit`, or "limited to N requests per minute"). */
  readonly hint: number | undefined
}

/**
 * A limit made stricter by what the provider said; never looser. A refusal with none of ours
 * before it in the window says nothing about our pace (someone else shares the key, or the
 * provider is busy): its pause is honoured, the limit kept.
 */
export const tightened = (current: number, e: Evidence): number => {
  const seen = e.before !== undefined && e.before >= 1 ? e.before : Number.POSITIVE_INFINITY
  const stated = e.hint !== undefined && e.hint >= 1 ? Math.floor(e.hint) : Number.POSITIVE_INFINITY
  return Math.min(current, seen, stated)
}

/**
 * A learned limit recovers toward the configured one, additively: one more request per quiet
 * period without a refusal, two windows at first (a timing blip costs a few windows, not the rest
 * of the hour). Each
 * probe that is refused again (`strikes`) doubles the quiet period, so a provider that really is
 * stricter costs a refusal now and then, fewer as the run goes on. Pure: the Redis take script is
 * the same rule.
 */
/** Windows without a refusal before a learned limit takes one step back up. */
export const QUIET_WINDOWS = 2

export const recovered = (
  configured: number,
  learned: { readonly cap: number; readonly atMs: number; readonly strikes: number } | undefined,
  windowMs: number,
  now: number
): number => {
  if (learned === undefined || learned.cap >= configured) return configured
  const quietMs = QUIET_WINDOWS * windowMs * 2 ** Math.min(learned.strikes, 10)
  const steps = Math.max(0, Math.floor((now - learned.atMs) / quietMs))
  return Math.min(configured, learned.cap + steps)
}

/** The least time `n` requests take under the rule, bursts included: full windows between bursts. */
export const leastDurationMs = (n: number, limit: number, windowMs: number): number =>
  n <= 0 ? 0 : Math.floor((n - 1) / limit) * windowMs
