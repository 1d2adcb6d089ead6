/** Which rate-limit buckets a request draws from, and each one's rule. Pure: plan and the limiter share it. */
import * as Policy from "@tollgate/pricing/Policy"

export interface Target {
  readonly fingerprint: string
  readonly modelId: string
  readonly free: boolean
}

export interface Bucket {
  /** Unique per key and bucket: `<fingerprint>:<name>`. */
  readonly key: string
  /** The API-key fingerprint: every bucket of one key lives in one store slot (a Redis hash tag). */
  readonly fingerprint: string
  /** `free:*`, `free:<model>`, `paid` or `model:<model>`. */
  readonly name: string
  /** At most this many requests in any window. */
  readonly limit: number
  /** The window the provider counts over, plus our margin for jitter, ms. */
  readonly windowMs: number
  readonly label: string
}

const bucket = (
  policy: Policy.Policy,
  fingerprint: string,
  name: string,
  rate: number,
  rateWindowMs: number,
  label: string
): Bucket => {
  // a fractional rate (0.5 rpm) becomes whole requests over a longer window, never faster
  const limit = Math.max(1, Math.floor(rate))
  const providerWindowMs = (rateWindowMs * limit) / rate
  return {
    key: `${fingerprint}:${name}`,
    fingerprint,
    name,
    limit,
    windowMs: providerWindowMs + Policy.marginMs(policy, providerWindowMs),
    label
  }
}

const per = (policy: Policy.Policy): string =>
  policy.window.windowMs === 60_000 ? "rpm" : `per ${policy.window.windowMs / 1000} s`

/** The buckets a request draws from. Pure. */
export const bucketsFor = (
  policy: Policy.Policy,
  balanceUsd: number | undefined,
  t: Target
): ReadonlyArray<Bucket> => {
  const out: Bucket[] = []
  const w = policy.window.windowMs
  if (t.free) {
    const rpm = Policy.freeRpm(policy, t.modelId)
    const name = Policy.freeRpmBucket(policy, t.modelId)
    const whose = name === "free:*" ? "(free models, account-wide)" : `(${t.modelId})`
    out.push(bucket(policy, t.fingerprint, name, rpm, w, `${rpm} ${per(policy)} ${whose}`))
  } else {
    const rps = Policy.paidRequestsPerSecond(policy, balanceUsd)
    if (rps !== undefined)
      out.push(bucket(policy, t.fingerprint, "paid", rps, 1_000, `${rps} req/s (balance)`))
    const rpm = policy.models[t.modelId]?.rpm
    if (rpm !== undefined)
      out.push(
        bucket(policy, t.fingerprint, `model:${t.modelId}`, rpm, w, `${rpm} ${per(policy)} (${t.modelId})`)
      )
  }
  // the free bucket also serves the account-wide free limit when a free model has its own rpm
  if (t.free && policy.free.scope === "account" && policy.models[t.modelId]?.rpm !== undefined)
    out.push(
      bucket(
        policy,
        t.fingerprint,
        "free:*",
        policy.free.rpm,
        w,
        `${policy.free.rpm} ${per(policy)} (free models)`
      )
    )
  return out
}
