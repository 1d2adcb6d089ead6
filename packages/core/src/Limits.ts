/**
 * Request pacing: free models at their requests per window (account-wide or per model), paid
 * models at the balance-tied requests per second, per-model overrides, and pauses a provider asks
 * for (429 Retry-After) applied to the whole bucket. Buckets are keyed by API-key fingerprint,
 * so two keys never share one.
 *
 * Each bucket is a sliding window, the provider's own rule: at most N requests in any window
 * (plus a margin for jitter). A burst up to N goes at once; the next waits until the oldest
 * leaves the window. The windows live in a `RateStore`: this process, or Redis to share.
 */
import type * as Policy from "@tollgate/pricing/Policy"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as AdaptiveBuckets from "./AdaptiveBuckets.ts"
import { type Bucket, bucketsFor, type Target } from "./Buckets.ts"
import { memoryRateStore, type RateStore } from "./RateStore.ts"
import type { StoreLost } from "./StoreLost.ts"

export { type Bucket, bucketsFor, type Target } from "./Buckets.ts"

/** A place in every bucket's window a request holds from its slot until it is sent. */
export interface Slot {
  readonly id: string
  readonly buckets: ReadonlyArray<Bucket>
  /** Whose slot it is: a refusal of a target no bucket paces starts one. */
  readonly target?: Target | undefined
}

export interface Wait {
  readonly slot: Slot
  readonly waitedMs: number
  readonly reason: string | undefined
}

/** The rate-limit headers of a response (`X-RateLimit-Limit`, `-Remaining`, `-Reset` in epoch ms). */
export interface RateHeaders {
  readonly limit: number | undefined
  readonly remaining: number | undefined
  readonly resetAtMs: number | undefined
}

export interface LimitsShape {
  /** Waits until a request to the target may go and holds its place; fails when a shared store stops answering. */
  readonly acquire: (
    t: Target,
    onWait?: (delayMs: number, reason: string) => void
  ) => Effect.Effect<Wait, StoreLost>
  /** The target's slot when no bucket paces it (nothing to count, nothing to wait for); undefined when one does. */
  readonly unpaced: (t: Target) => Slot | undefined
  /** A place now, or undefined when the target must wait. */
  readonly tryAcquire: (t: Target) => Effect.Effect<Slot | undefined, StoreLost>
  /** The slot's request goes out now: its place in each window moves to this moment (a lost store: the next take says so). */
  readonly touch: (slot: Slot) => Effect.Effect<void>
  /** Gives a place back: its request did not go out. */
  readonly release: (slot: Slot) => Effect.Effect<void>
  /** The provider asked this target's buckets to wait until `untilMs` (epoch ms). */
  readonly pause: (t: Target, untilMs: number) => Effect.Effect<void>
  /**
   * The provider refused (429, not the daily cap) the request sent in `slot`; `hint`: the limit it
   * stated; `waitMs`: how long it asked to wait. A target no bucket paces gets an adaptive one.
   */
  readonly refused: (
    slot: Slot,
    hint: number | undefined,
    waitMs?: number | undefined
  ) => Effect.Effect<void, StoreLost>
  /** A response's rate-limit headers: a stated window limit below ours, or none left until a reset soon. */
  readonly observe: (t: Target, headers: RateHeaders) => Effect.Effect<void, StoreLost>
  /** The buckets a target draws from (for plan and progress). */
  readonly buckets: (t: Target) => ReadonlyArray<Bucket>
}

const PAUSED = "the provider asked to wait (429)"

const newId = (() => {
  const run = globalThis.crypto.randomUUID()
  let n = 0
  return () => `${run}:${++n}`
})()

/** Limits over a RateStore (which decides who shares the buckets: this process, or Redis). */
export const make = (
  store: RateStore,
  policy: Policy.Policy,
  balanceUsd: number | undefined
): LimitsShape => {
  const adaptive = AdaptiveBuckets.make(store)
  const buckets = (t: Target): ReadonlyArray<Bucket> => {
    const configured = bucketsFor(policy, balanceUsd, t)
    const learned = configured.length === 0 ? adaptive.bucket(t) : undefined
    return learned === undefined ? configured : [learned]
  }
  const newSlot = (t: Target): Slot => ({ id: newId(), buckets: buckets(t), target: t })
  const tryAcquire = (t: Target) => {
    const slot = newSlot(t)
    // no bucket paces it (most paid models): nothing to count, no store to ask
    if (slot.buckets.length === 0) return Effect.succeed(slot)
    return Effect.map(store.take(slot.buckets, slot.id), (r) => (r.ok ? slot : undefined))
  }
  return {
    buckets,
    unpaced: (t) => {
      const slot = newSlot(t)
      return slot.buckets.length === 0 ? slot : undefined
    },
    tryAcquire,
    touch: (slot) => (slot.buckets.length === 0 ? Effect.void : store.touch(slot.buckets, slot.id)),
    release: (slot) => (slot.buckets.length === 0 ? Effect.void : store.release(slot.buckets, slot.id)),
    pause: (t, untilMs) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.forEach(buckets(t), (b) => store.pause(b, untilMs - now), { discard: true })
      ),
    // the most specific bucket is the one a stricter provider limit most likely belongs to
    refused: (slot, hint, waitMs) => {
      const b = slot.buckets[0]
      const t = slot.target
      // a target no rule paces: its learned bucket starts, or learns again
      if (t !== undefined && !t.free && (b === undefined || adaptive.owns(b)))
        return Effect.asVoid(adaptive.refused(t, b === undefined ? undefined : slot.id, hint, waitMs))
      return b === undefined
        ? Effect.void
        : Effect.andThen(
            store.tighten(b, { refusedId: slot.id, hint }),
            store.release(slot.buckets.slice(1), slot.id)
          )
    },
    observe: (t, h) => {
      const b = buckets(t)[0]
      // no bucket to learn into, or nothing stated: nothing to do (most replies)
      return b === undefined || h.resetAtMs === undefined
        ? Effect.void
        : learnStated(store, b, h, h.resetAtMs)
    },
    acquire: (t, onWait) => {
      const slot = newSlot(t)
      // no bucket paces it: its slot is free now
      if (slot.buckets.length === 0) return Effect.succeed({ slot, waitedMs: 0, reason: undefined })
      return waitForPlace(store, slot, onWait)
    }
  }
}

/** A reply's stated limit and reset taught to a bucket: a lower limit, and none left until a reset soon. */
const learnStated = Effect.fnUntraced(function* (store: RateStore, b: Bucket, h: RateHeaders, reset: number) {
  const now = yield* Clock.currentTimeMillis
  // a reset within two windows is this window's limit; a later one (the daily cap) is the ledger's
  if (reset <= now || reset > now + 2 * b.windowMs) return
  if (h.limit !== undefined && h.limit < b.limit)
    yield* store.tighten(b, { refusedId: undefined, hint: h.limit })
  if (h.remaining === 0) yield* store.pause(b, reset - now)
})

/** Takes the slot's place in every bucket, sleeping as long as the store says each time it is refused. */
const waitForPlace = Effect.fnUntraced(function* (
  store: RateStore,
  slot: Slot,
  onWait: ((delayMs: number, reason: string) => void) | undefined
) {
  const start = yield* Clock.currentTimeMillis
  let reason: string | undefined
  for (;;) {
    const r = yield* store.take(slot.buckets, slot.id)
    if (r.ok) break
    const why = r.paused ? PAUSED : slot.buckets[r.bucket]!.label
    reason ??= why
    onWait?.(r.delayMs, why)
    yield* Effect.sleep(Duration.millis(r.delayMs))
  }
  const end = yield* Clock.currentTimeMillis
  return { slot, waitedMs: end - start, reason } satisfies Wait
})

export class Limits extends Context.Service<Limits, LimitsShape>()("@tollgate/core/Limits") {
  /** Limits over a rate store: `memoryRateStore()` for this process, Redis to share. */
  static readonly layerWithStore = (
    store: RateStore,
    policy: Policy.Policy,
    balanceUsd: number | undefined
  ) => Layer.succeed(Limits, make(store, policy, balanceUsd))

  /** No pacing at all: for providers that are not an account (the local echo provider, offline). */
  static readonly layerNone = Layer.succeed(Limits, {
    acquire: () => Effect.succeed({ slot: { id: "", buckets: [] }, waitedMs: 0, reason: undefined }),
    unpaced: () => ({ id: "", buckets: [] }),
    tryAcquire: () => Effect.succeed({ id: "", buckets: [] }),
    touch: () => Effect.void,
    release: () => Effect.void,
    pause: () => Effect.void,
    refused: () => Effect.void,
    observe: () => Effect.void,
    buckets: () => []
  })

  /** Limits shared by this process only. */
  static readonly layer = (policy: Policy.Policy, balanceUsd: number | undefined) =>
    Layer.sync(Limits, () => make(memoryRateStore(), policy, balanceUsd))
}
