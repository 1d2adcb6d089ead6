/** The least wall time the rate limits allow: each bucket sends bursts of its limit, a window apart. Pure. */
import { type Bucket, bucketsFor } from "@tollgate/core/Buckets"
import { leastDurationMs } from "@tollgate/core/Window"
import type * as Policy from "@tollgate/pricing/Policy"
import type { StepProjection } from "./StepProjection.ts"

export const minDurationMs = (
  steps: ReadonlyArray<StepProjection>,
  policy: Policy.Policy,
  balanceUsd: number | undefined,
  fingerprint: string
): number => {
  const perBucket = new Map<string, { n: number; bucket: Bucket }>()
  for (const s of steps) {
    const modelId = typeof s.model === "string" ? s.model : s.model[0]!
    for (const b of bucketsFor(policy, balanceUsd, { fingerprint, modelId, free: s.free })) {
      const n = (perBucket.get(b.key)?.n ?? 0) + s.requests - s.cached
      perBucket.set(b.key, { n, bucket: b })
    }
  }
  let longest = 0
  for (const { n, bucket } of perBucket.values())
    longest = Math.max(longest, leastDurationMs(n, bucket.limit, bucket.windowMs))
  return longest
}
