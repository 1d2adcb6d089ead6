/**
 * Request pacing: free models at their requests-per-minute (account-wide or per model), paid
 * models at the balance-tied requests-per-second, per-model overrides, and pauses a provider asks
 * for (429 Retry-After) applied to the whole bucket. Buckets are keyed by API-key fingerprint,
 * so two keys never share one.
 *
 * Each bucket is a token bucket of capacity 1 (`effect/persistence` RateLimiter): requests are
 * spaced evenly, so no 60 s window ever holds more than the limit, whatever the start.
 */
import { Policy } from "@tollgate/pricing"
import { Clock, Context, Duration, Effect, Layer } from "effect"
import { RateLimiter } from "effect/persistence"

export interface Target {
  readonly fingerprint: string
  readonly modelId: string
  readonly free: boolean
}

export interface Bucket {
  readonly key: string
  /** Minimum spacing between two requests, ms. */
  readonly intervalMs: number
  readonly label: string
}

/** The buckets a request draws from. Pure. */
export const bucketsFor = (
  policy: Policy.Policy,
  balanceUsd: number | undefined,
  t: Target
): ReadonlyArray<Bucket> => {
  const out: Bucket[] = []
  if (t.free) {
    const rpm = Policy.freeRpm(policy, t.modelId)
    const bucket = Policy.freeRpmBucket(policy, t.modelId)
    out.push({
      key: `${t.fingerprint}:${bucket}`,
      intervalMs: 60_000 / rpm,
      label: `${rpm} rpm ${bucket === "free:*" ? "(free models, account-wide)" : `(${t.modelId})`}`
    })
  } else {
    const rps = Policy.paidRequestsPerSecond(policy, balanceUsd)
    if (rps !== undefined)
      out.push({ key: `${t.fingerprint}:paid`, intervalMs: 1_000 / rps, label: `${rps} req/s (balance)` })
    const rpm = policy.models[t.modelId]?.rpm
    if (rpm !== undefined)
      out.push({
        key: `${t.fingerprint}:model:${t.modelId}`,
        intervalMs: 60_000 / rpm,
        label: `${rpm} rpm (${t.modelId})`
      })
  }
  // the free bucket also serves the account-wide free limit when a free model has its own rpm
  if (t.free && policy.free.scope === "account" && policy.models[t.modelId]?.rpm !== undefined)
    out.push({
      key: `${t.fingerprint}:free:*`,
      intervalMs: 60_000 / policy.free.rpm,
      label: `${policy.free.rpm} rpm (free models)`
    })
  return out
}

export interface Wait {
  readonly waitedMs: number
  readonly reason: string | undefined
}

export interface LimitsShape {
  /** Waits until a request to the target may go. */
  readonly acquire: (t: Target, onWait?: (delayMs: number, reason: string) => void) => Effect.Effect<Wait>
  /** The provider asked this target's buckets to wait until `untilMs` (epoch ms). */
  readonly pause: (t: Target, untilMs: number) => Effect.Effect<void>
  /** The buckets a target draws from (for plan and progress). */
  readonly buckets: (t: Target) => ReadonlyArray<Bucket>
}

/** Where "the provider asked this bucket to wait until T" is kept: this process, or a shared store. */
export interface Pauses {
  readonly get: (bucket: string) => Effect.Effect<number>
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
            .pipe(Effect.orDie)
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

  /** Limits shared by this process only. */
  static readonly layer = (policy: Policy.Policy, balanceUsd: number | undefined) =>
    Limits.layerWithStore(policy, balanceUsd).pipe(Layer.provide(RateLimiter.layerStoreMemory))
}
