/**
 * Buckets for targets no rule paces (a paid model with no stated or configured limit) that the
 * provider refused anyway, learned in this process. The first refusal starts one: its window the
 * provider's wait (1 s to a minute), one request a window (or the limit the 429 stated). A later
 * refusal with a wait widens the window to the longer one and starts again from one request a
 * window; one without tightens the cap by how many of ours went before it (`RateStore.tighten`).
 * Quiet windows add requests back (`Window.recovered`).
 */
import type { Effect } from "effect/Effect"
import type { Bucket, Target } from "./Buckets.ts"
import type { RateStore } from "./RateStore.ts"
import type { StoreLost } from "./StoreLost.ts"

const PREFIX = "adaptive:"
/** An adaptive bucket starts unbounded: the store's learned cap is its limit. */
const UNBOUNDED = 1_000_000

export interface AdaptiveBuckets {
  /** The target's learned bucket, once the provider refused it. */
  readonly bucket: (t: Target) => Bucket | undefined
  /** Whether a bucket is one of these. */
  readonly owns: (b: Bucket) => boolean
  /** The provider refused a request to `t` (`slotId`: its place in the learned bucket, if it had one). */
  readonly refused: (
    t: Target,
    slotId: string | undefined,
    hint: number | undefined,
    waitMs: number | undefined
  ) => Effect<number, StoreLost>
}

export const make = (store: RateStore): AdaptiveBuckets => {
  const windows = new Map<string, number>()
  const keyOf = (t: Target) => `${t.fingerprint}:${PREFIX}${t.modelId}`
  const bucketOf = (t: Target, windowMs: number): Bucket => ({
    key: keyOf(t),
    fingerprint: t.fingerprint,
    name: `${PREFIX}${t.modelId}`,
    limit: UNBOUNDED,
    windowMs,
    label: `the provider's unstated limit (${t.modelId}, learned)`
  })
  return {
    bucket: (t) => {
      const windowMs = windows.get(keyOf(t))
      return windowMs === undefined ? undefined : bucketOf(t, windowMs)
    },
    owns: (b) => b.name.startsWith(PREFIX),
    refused: (t, slotId, hint, waitMs) => {
      const previous = windows.get(keyOf(t))
      const windowMs = Math.max(previous ?? 0, Math.min(60_000, Math.max(1_000, Math.ceil(waitMs ?? 1_000))))
      windows.set(keyOf(t), windowMs)
      const b = bucketOf(t, windowMs)
      if (previous === undefined || slotId === undefined)
        return store.tighten(b, { refusedId: undefined, hint: hint !== undefined && hint >= 1 ? hint : 1 })
      return waitMs !== undefined
        ? store.tighten(b, { refusedId: undefined, hint: 1 })
        : store.tighten(b, { refusedId: slotId, hint })
    }
  }
}
