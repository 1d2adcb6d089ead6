/** `runner quota [pipeline.yaml]`: today's free-model requests used and left, from the ledger. */
import { Fingerprint } from "@tollgate/core"
import { Policy, StateDir } from "@tollgate/pricing"
import { Effect } from "effect"
import { loadCatalog } from "../CatalogIo.ts"
import type { Io } from "../Io.ts"
import { DEFAULT_API_KEY_ENV } from "../Pipeline.ts"
import { planStores } from "../Stores.ts"
import { validateFile } from "../Validate.ts"
import { runStoreEffect } from "./common.ts"
import { reportInvalid } from "./validate.ts"

export interface QuotaOptions {
  readonly file: string | undefined
  readonly creditsPurchasedUsd: number | undefined
  readonly format: "table" | "json" | "markdown"
  readonly now: Date
  readonly store: string | undefined
}

export const quota = async (io: Io, opts: QuotaOptions): Promise<number> => {
  let apiKeyEnv = DEFAULT_API_KEY_ENV
  let credits = opts.creditsPurchasedUsd ?? 0
  if (opts.file !== undefined) {
    const result = validateFile(opts.file, { cwd: io.cwd, catalog: await loadCatalog(io) })
    if (!result.ok) return reportInvalid(io, result)
    apiKeyEnv = result.value.pipeline.apiKeyEnv
    credits = opts.creditsPurchasedUsd ?? result.value.pipeline.creditsPurchasedUsd
  }
  const fingerprint = Fingerprint.keyFingerprint(io.env[apiKeyEnv])
  const day = Policy.utcDay(opts.now)
  const used = await runStoreEffect(
    Effect.scoped(
      Effect.flatMap(planStores({ url: opts.store, stateDir: StateDir.stateDir(io.env) }, {}), (s) =>
        Effect.orDie(s.ledger.used(fingerprint, day))
      )
    )
  )
  const perDay = Policy.freeRequestsPerDay(Policy.defaultPolicy, credits)
  const resets = Policy.nextUtcMidnight(opts.now).toISOString().replace(".000Z", "Z")
  const json = {
    format_version: 1,
    day,
    key: { env: apiKeyEnv, fingerprint, set: io.env[apiKeyEnv] !== undefined && io.env[apiKeyEnv] !== "" },
    free_per_day: perDay,
    free_used_today: used,
    free_left_today: Math.max(0, perDay - used),
    resets_at: resets
  }
  if (opts.format === "json") io.out(`${JSON.stringify(json, null, 2)}\n`)
  else
    io.out(
      `free-model requests today (${day} UTC), key ${apiKeyEnv} [${fingerprint}]: ${used} used, ${json.free_left_today} left of ${perDay}; resets at ${resets}\n`
    )
  return 0
}
