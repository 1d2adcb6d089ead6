/**
 * Where the sliding windows live: this process (`memoryRateStore`), or Redis for many processes
 * (`RedisRateStore.ts`, the same rule as one Lua script). Every operation on one request's buckets is
 * atomic, so two fibers (or twenty processes) never both take the last place in a window.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { Bucket } from "./Buckets.ts"
import type { StoreLost } from "./StoreLost.ts"
import * as Window from "./Window.ts"

/** What a take found: counted in every bucket, or how long until it could be. */
export type Take =
  | { readonly ok: true }
  | {
      readonly ok: false
      readonly delayMs: number
      /** The bucket that made it wait (index into the buckets given). */
      readonly bucket: number
      /** The wait is a pause the provider asked for, not the window's. */
      readonly paused: boolean
    }

export interface RateStore {
  /** Counts `id` now in every bucket when all have room and none is paused; else says how long to wait. */
  readonly take: (buckets: ReadonlyArray<Bucket>, id: string) => Effect.Effect<Take, StoreLost>
  /** Moves `id` to now in every bucket where it is still inside the window: the request goes out this moment. */
  readonly touch: (buckets: ReadonlyArray<Bucket>, id: string) => Effect.Effect<void>
  /** Uncounts `id` (a request that did not go out in its slot). */
  readonly release: (buckets: ReadonlyArray<Bucket>, id: string) => Effect.Effect<void>
  /** No request from the bucket for `waitMs` (never shortens a longer pause). */
  readonly pause: (bucket: Bucket, waitMs: number) => Effect.Effect<void>
  /**
   * The provider said the limit is stricter than we thought: lower the bucket's, from the limit
   * it stated and, when it refused the request `refusedId`, from how many of ours went before
   * it in the window (the refused one then leaves the window: the provider did not serve it).
   * Returns the new limit.
   */
  readonly tighten: (
    bucket: Bucket,
    evidence: { readonly refusedId: string | undefined; readonly hint: number | undefined }
  ) => Effect.Effect<number, StoreLost>
}

interface State {
  readonly sent: Map<string, number>
  /** The limit learned from the provider, when, and how many probes upward it refused. */
  learned: { cap: number; atMs: number; strikes: number } | undefined
  pausedUntil: number
}

/** Windows kept in this process only. */
export const memoryRateStore = (): RateStore => {
  const states = new Map<string, State>()
  const state = (b: Bucket): State => {
    let s = states.get(b.key)
    if (s === undefined) {
      s = { sent: new Map(), learned: undefined, pausedUntil: 0 }
      states.set(b.key, s)
    }
    return s
  }
  const limitOf = (b: Bucket, now: number) => Window.recovered(b.limit, state(b).learned, b.windowMs, now)
  const live = (b: Bucket, now: number) => {
    const s = state(b)
    for (const [id, t] of s.sent) if (t <= now - b.windowMs) s.sent.delete(id)
    return [...s.sent.values()]
  }
  const take = (buckets: ReadonlyArray<Bucket>, id: string, now: number): Take => {
    let wait: Take = { ok: true }
    buckets.forEach((b, i) => {
      const paused = state(b).pausedUntil - now
      const full = Window.delayMs(live(b, now), limitOf(b, now), b.windowMs, now)
      const delayMs = Math.max(paused, full)
      if (delayMs > 0 && (wait.ok || delayMs > wait.delayMs))
        wait = { ok: false, delayMs, bucket: i, paused: paused >= full }
    })
    if (wait.ok) for (const b of buckets) state(b).sent.set(id, now)
    return wait
  }
  return {
    take: (buckets, id) => Effect.map(Clock.currentTimeMillis, (now) => take(buckets, id, now)),
    touch: (buckets, id) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        // deleted and set again: entries stay in the order they went out
        for (const b of buckets) {
          const sent = state(b).sent
          const at = sent.get(id)
          if (at !== undefined && at > now - b.windowMs && sent.delete(id)) sent.set(id, now)
        }
      }),
    release: (buckets, id) =>
      Effect.sync(() => {
        for (const b of buckets) state(b).sent.delete(id)
      }),
    pause: (b, waitMs) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const s = state(b)
        s.pausedUntil = Math.max(s.pausedUntil, now + waitMs)
      }),
    tighten: (b, { refusedId, hint }) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const s = state(b)
        live(b, now)
        // entries are kept in the order they were sent: those before the refused one
        const ids = [...s.sent.keys()]
        const at = refusedId === undefined ? -1 : ids.indexOf(refusedId)
        if (refusedId !== undefined) s.sent.delete(refusedId)
        const current = limitOf(b, now)
        const cap = Window.tightened(current, { before: at < 0 ? undefined : at, hint })
        if (cap >= current) return current
        // refused above what was learned before: a probe upward failed
        const strikes =
          (s.learned?.strikes ?? 0) + (s.learned !== undefined && current > s.learned.cap ? 1 : 0)
        s.learned = { cap, atMs: now, strikes }
        return cap
      })
  }
}
