/**
 * How a job's free-model requests fall on UTC days when they do not fit in one: what is left
 * today first, then each later day's quota (or the run's `max_free_requests`, when smaller). Pure.
 */
import * as Policy from "@tollgate/pricing/Policy"

export interface FreeDay {
  /** The UTC day, `YYYY-MM-DD`. */
  readonly date: string
  readonly requests: number
}

/** A year of days at most: a quota of zero never finishes, and the plan says so. */
const MAX_DAYS = 366

export const freeDays = (o: {
  readonly freeRequests: number
  readonly leftToday: number
  readonly perDay: number
  readonly maxFreeRequests: number | undefined
  readonly now: Date
}): ReadonlyArray<FreeDay> => {
  const cap = (n: number) => Math.max(0, Math.min(n, o.maxFreeRequests ?? Number.POSITIVE_INFINITY))
  const days: FreeDay[] = []
  let left = o.freeRequests
  for (let d = 0; left > 0 && d < MAX_DAYS; d++) {
    const n = Math.min(left, cap(d === 0 ? o.leftToday : o.perDay))
    const date = Policy.utcDay(
      new Date(Date.UTC(o.now.getUTCFullYear(), o.now.getUTCMonth(), o.now.getUTCDate() + d))
    )
    if (n > 0) days.push({ date, requests: n })
    left -= n
  }
  return days
}
