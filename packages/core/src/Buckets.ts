/** Which rate-limit buckets a request draws from, and their spacing. Pure: plan and the limiter share it. */
import * as Policy from "@tollgate/pricing/Policy"

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
