/**
 * Free first, paid for what the deadline needs (`overflow:`): how many free requests each UTC
 * day can still take before the deadline (the day's quota left, and what the free rate limit
 * lets through in the hours before the deadline), and where each item of a job goes: free on a
 * day before the deadline, in item order, and the rest on the paid overflow model. Pure.
 */
import * as Policy from "@tollgate/pricing/Policy"

export interface DayCapacity {
  /** The UTC day, `YYYY-MM-DD`. */
  readonly date: string
  /** When free requests may start that day (now, for today) and must end (midnight or the deadline). */
  readonly from: number
  readonly to: number
  /** Free requests that fit in it. */
  readonly free: number
}

export interface CapacityInput {
  readonly now: number
  readonly deadline: number
  /** Free requests left in today's quota (the ledger's and the provider's count, whichever is more). */
  readonly leftToday: number
  readonly perDay: number
  /** The run's own daily share (`max_free_requests`), when smaller than the quota. */
  readonly maxFreeRequests: number | undefined
  /** Free requests allowed per window, and the window. */
  readonly rpm: number
  readonly windowMs: number
}

/** What the rate limit lets through between two instants: a window's worth at once, then one window's worth per window. */
const paced = (fromMs: number, toMs: number, rpm: number, windowMs: number): number =>
  toMs <= fromMs ? 0 : rpm * (1 + Math.floor((toMs - fromMs - 1) / windowMs))

/** Each UTC day from today to the deadline's, with the free requests it can take. */
export const freeCapacity = (o: CapacityInput): DayCapacity[] => {
  const days: DayCapacity[] = []
  const cap = (n: number) => Math.max(0, Math.min(n, o.maxFreeRequests ?? Number.POSITIVE_INFINITY))
  for (let from = o.now, d = 0; from < o.deadline && d < 366; d++) {
    const to = Math.min(Policy.nextUtcMidnight(new Date(from)).getTime(), o.deadline)
    const quota = cap(d === 0 ? o.leftToday : o.perDay)
    days.push({
      date: Policy.utcDay(new Date(from)),
      from,
      to,
      free: Math.min(quota, paced(from, to, o.rpm, o.windowMs))
    })
    from = to
  }
  return days
}

export interface Placement {
  /** Free requests on each day before the deadline (days with none left out). */
  readonly freeByDay: ReadonlyArray<{ readonly date: string; readonly requests: number }>
  readonly free: number
  /** Requests on the paid overflow model: what no free day before the deadline can take. */
  readonly paid: number
}

/** `requests` placed on the days' free capacity in order; what does not fit is paid. */
export const place = (requests: number, days: ReadonlyArray<DayCapacity>): Placement => {
  let left = requests
  const freeByDay: Array<{ date: string; requests: number }> = []
  for (const d of days) {
    const n = Math.min(left, d.free)
    if (n > 0) freeByDay.push({ date: d.date, requests: n })
    left -= n
  }
  return { freeByDay, free: requests - left, paid: left }
}

/** Days (with what they take) less what earlier steps placed on them: the quota is the account's. */
export const less = (days: ReadonlyArray<DayCapacity>, used: Placement): DayCapacity[] =>
  days.map((d) => ({
    ...d,
    free: d.free - (used.freeByDay.find((u) => u.date === d.date)?.requests ?? 0)
  }))
