/** The account a pipeline runs as: its policy (OpenRouter's, with the pipeline's overrides) and key fingerprint. */
import * as Policy from "@tollgate/pricing/Policy"
import type { Pipeline } from "../dsl/Pipeline.ts"
import { fingerprintOfKey, type KeyVariables } from "../providers/KeyRoute.ts"
import type { Declared } from "./AccountFacts.ts"

/** The policy a pipeline runs under: OpenRouter's, with `limits.models` and `limits.free` overrides. */
export const policyOf = (pipeline: Pipeline): Policy.Policy =>
  Policy.make({
    models: pipeline.modelLimits,
    window: pipeline.rateWindow,
    free: {
      rpm: pipeline.freeLimits.rpm,
      scope: pipeline.freeLimits.scope,
      perDayLow: pipeline.freeLimits.per_day,
      perDayHigh: pipeline.freeLimits.per_day
    }
  })

/** What the pipeline declares of its account (`account:` and `limits.free.per_day`): it wins over what is discovered. */
export const declaredOf = (pipeline: Pipeline): Declared => ({
  creditsPurchasedUsd: pipeline.creditsPurchasedUsd,
  balanceUsd: pipeline.balanceUsd,
  freePerDay: pipeline.freeLimits.per_day
})

/** No pacing and no quota: for the local echo and offline providers, which are not an account. */
export const unlimitedPolicy: Policy.Policy = Policy.make({
  free: { rpm: 1e9, perDayLow: 1e9, perDayHigh: 1e9 }
})

/** The fingerprint of the key the pipeline names. */
export const fingerprintOf = (pipeline: Pipeline, keys: KeyVariables): string =>
  fingerprintOfKey(keys, pipeline.apiKeyEnv)
