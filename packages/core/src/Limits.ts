/**
 * Request pacing: free models at their requests-per-minute (account-wide or per model), paid
 * models at the balance-tied requests-per-second, per-model overrides, and pauses a provider asks
 * for (429 Retry-After) applied to the whole bucket. Buckets are keyed by API-key fingerprint,
 * so two keys never share one.
 *
 * Each bucket is a token bucket of capacity 1 (`effect/persistence` RateLimiter): requests are
 * spaced evenly, so no 60 s window ever holds more than the limit, whatever the start.
 */
import type * as Policy from "@tollgate/pricing/Policy"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { RateLimiter } from "effect/persistence"
import { type Bucket, bucketsFor, type Target } from "./Buckets.ts"
import { type StoreLost, storeLost } from "./StoreLost.ts"

export { type Bucket, bucketsFor, type Target } from "./Buckets.ts"

export interface Wait {
  readonly waitedMs: number
  readonly reason: string | undefined
}

export interface LimitsShape {
  /** Waits until a request to the target may go; fails when a shared store stops answering. */
  readonly acquire: (
    t: Target,
    onWait?: (delayMs: number, reason: string) => void
  ) => Effect.Effect<Wait, StoreLost>
  /** The provider asked this target's buckets to wait until `untilMs` (epoch ms). */
  readonly pause: (t: Target, untilMs: number) => Effect.Effect<void>
  /** The buckets a target draws from (for plan and progress). */
  readonly buckets: (t: Target) => ReadonlyArray<Bucket>
}

/** Where "the provider asked this bucket to wait until T" is kept: this process, or a shared store. */
export interface Pauses {
  readonly get: (bucket: string) => Effect.Effect<number, StoreLost>
  /** Raises the bucket's pause to `untilMs` (never lowers it). */
  readonly raise: (bucket: string, untilMs: number) => Effect.Effect<void>
}

export const memoryPauses = (): Pauses => {
  const paused = new Map<string, number>()
  return {
    get: (bucket) => Effect.sync(() => paused.get(bucket) ?? 0),
    raise: (bucket, untilMs) =>
      Effect.sync(() => void paused.set(bucket, Math.max(paused.get(bucket) ?? 0, untilMs)))
  }
}

/** Limits over a RateLimiter (its store decides who shares the buckets: this process, or Redis). */
export const make = (
  limiter: RateLimiter.RateLimiter,
  policy: Policy.Policy,
  balanceUsd: number | undefined,
  pauses: Pauses = memoryPauses()
): LimitsShape => {
  const buckets = (t: Target) => bucketsFor(policy, balanceUsd, t)
  return {
    buckets,
    pause: (t, untilMs) => Effect.forEach(buckets(t), (b) => pauses.raise(b.key, untilMs), { discard: true }),
    acquire: (t, onWait) =>
      Effect.gen(function* () {
        const start = yield* Clock.currentTimeMillis
        let reason: string | undefined
        for (const b of buckets(t)) {
          // a provider-requested pause first, then our own spacing
          for (;;) {
            const now = yield* Clock.currentTimeMillis
            const until = yield* pauses.get(b.key)
            if (until <= now) break
            reason = "the provider asked to wait (429)"
            onWait?.(until - now, reason)
            yield* Effect.sleep(Duration.millis(until - now))
          }
          const result = yield* limiter
            .consume({
              algorithm: "token-bucket",
              onExceeded: "delay",
              window: Duration.millis(b.intervalMs),
              limit: 1,
              key: b.key
            })
            .pipe(Effect.mapError(storeLost))
          if (Duration.toMillis(result.delay) > 0) {
            reason ??= b.label
            onWait?.(Duration.toMillis(result.delay), b.label)
            yield* Effect.sleep(result.delay)
          }
        }
        const end = yield* Clock.currentTimeMillis
        return { waitedMs: end - start, reason }
      })
  }
}

export class Limits extends Context.Service<Limits, LimitsShape>()("@tollgate/core/Limits") {
  /** Limits over the RateLimiter store in context (`RateLimiter.layerStoreMemory`, or Redis to share). */
  static readonly layerWithStore = (policy: Policy.Policy, balanceUsd: number | undefined, pauses?: Pauses) =>
    Layer.effect(
      Limits,
      Effect.map(RateLimiter.make, (limiter) => make(limiter, policy, balanceUsd, pauses))
    )

  /** No pacing at all: for providers that are not an account (the local echo provider, offline). */
  static readonly layerNone = Layer.succeed(Limits, {
    acquire: () => Effect.succeed({ waitedMs: 0, reason: undefined }),
    pause: () => Effect.void,
    buckets: () => []
  })

  /** Limits shared by this process only. */
  static readonly layer = (policy: Policy.Policy, balanceUsd: number | undefined) =>
    Limits.layerWithStore(policy, balanceUsd).pipe(Layer.provide(RateLimiter.layerStoreMemory))
}
