/** The least wall time the rate limits allow: each bucket sends its requests evenly spaced. Pure. */
import { bucketsFor } from "@tollgate/core/Buckets"
import type * as Policy from "@tollgate/pricing/Policy"
import type { StepProjection } from "./StepProjection.ts"

export const minDurationMs = (
  steps: ReadonlyArray<StepProjection>,
  policy: Policy.Policy,
  balanceUsd: number | undefined,
  fingerprint: string
): number => {
  const perBucket = new Map<string, { n: number; interval: number }>()
  for (const s of steps) {
    const modelId = typeof s.model === "string" ? s.model : s.model[0]!
    for (const b of bucketsFor(policy, balanceUsd, { fingerprint, modelId, free: s.free })) {
      const cur = perBucket.get(b.key) ?? { n: 0, interval: b.intervalMs }
      perBucket.set(b.key, { n: cur.n + s.requests - s.cached, interval: b.intervalMs })
    }
  }
  let longest = 0
  for (const { n, interval } of perBucket.values()) longest = Math.max(longest, Math.max(0, n - 1) * interval)
  return longest
}
