/** `runner quota [pipeline.yaml]`: today's free-model requests used and left, from the ledger; the account's figures and their sources. */
import * as Policy from "@tollgate/pricing/Policy"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Account } from "../../account/Account.ts"
import { declaredOf, policyOf } from "../../account/AccountPolicy.ts"
import { DEFAULT_API_KEY_ENV, DEFAULT_BASE_URL } from "../../dsl/Pipeline.ts"
import { baseUrlOf } from "../../dsl/Request.ts"
import { mainLayer } from "../../MainLayer.ts"
import { accountJson } from "../../plan/PlanJson.ts"
import { validatePipeline } from "../../plan/ValidPipeline.ts"
import { fingerprintOfKey, keyVariablesOf } from "../../providers/KeyRoute.ts"
import { accountLine } from "../../report/PlanReport.ts"
import { StateStore, usedToday } from "../../store/StateStore.ts"
import { edgeSettings } from "../EdgeSettings.ts"
import type { Format } from "../Flags.ts"
import { Io } from "../Io.ts"
import * as F from "./Parse.ts"

/** Whose key, at which endpoint, which figures declared and which policy: the pipeline's when given (its `limits.free.per_day` too), else the defaults and the flag. */
const account = Effect.fnUntraced(function* (file: Option.Option<string>, credits: number | undefined) {
  if (Option.isNone(file))
    return {
      apiKeyEnv: DEFAULT_API_KEY_ENV,
      baseUrl: DEFAULT_BASE_URL,
      declared: { creditsPurchasedUsd: credits, balanceUsd: undefined },
      policy: Policy.defaultPolicy,
      ask: true
    }
  const io = yield* Io
  const v = yield* validatePipeline(file.value, { cwd: io.cwd })
  return {
    apiKeyEnv: v.pipeline.apiKeyEnv,
    baseUrl: baseUrlOf(v.pipeline, undefined),
    declared: {
      ...declaredOf(v.pipeline),
      ...(credits !== undefined ? { creditsPurchasedUsd: credits } : {})
    },
    policy: policyOf(v.pipeline),
    // only OpenRouter has the account calls
    ask: v.pipeline.providerKind === "openrouter"
  }
})

export interface QuotaFlags {
  readonly pipeline: Option.Option<string>
  readonly creditsPurchased: Option.Option<string>
  readonly format: Format
  readonly store: Option.Option<string>
}

export const handle = Effect.fn("runner quota")(function* (flags: QuotaFlags) {
  const io = yield* Io
  const credits = yield* F.parseUsd("credits-purchased", flags.creditsPurchased)
  const settings = yield* edgeSettings
  const store = yield* F.parseStore(flags.store, settings)
  const given = yield* F.parseBaseUrl(Option.none(), settings)
  const now = new Date(yield* Clock.currentTimeMillis)
  const keys = keyVariablesOf(io.env)
  const { ledger, apiKeyEnv, fingerprint, facts, warnings } = yield* Effect.gen(function* () {
    const a = yield* account(flags.pipeline, credits)
    const reads = yield* (yield* StateStore).planReads({})
    const fingerprint = fingerprintOfKey(keys, a.apiKeyEnv)
    const { facts, warnings } = yield* (yield* Account).resolve({
      keys,
      baseUrl: given ?? a.baseUrl,
      baseUrlGiven: given !== undefined,
      apiKeyEnv: a.apiKeyEnv,
      fingerprint,
      declared: a.declared,
      ask: a.ask,
      policy: a.policy.free,
      now
    })
    return {
      ledger: yield* usedToday(reads, fingerprint, now),
      apiKeyEnv: a.apiKeyEnv,
      fingerprint,
      facts,
      warnings
    }
  }).pipe(Effect.scoped, Effect.provide(mainLayer({ settings, store })))
  for (const w of warnings) io.err(`warning: ${w}\n`)
  const day = Policy.utcDay(now)
  const resets = Policy.isoInstant(Policy.nextUtcMidnight(now))
  const accountOut = accountJson(facts, { ledger })
  // the provider's counter (every key and client of the account) or our ledger, the larger
  const used = accountOut.free_used_today.value
  const perDay = facts.freePerDay.value
  const left = Math.max(0, perDay - used)
  if (flags.format === "json")
    io.out(
      `${JSON.stringify(
        {
          format_version: 1,
          day,
          key: { env: apiKeyEnv, fingerprint, set: keys.get(apiKeyEnv) !== undefined },
          free_per_day: perDay,
          free_used_today: used,
          free_left_today: left,
          resets_at: resets,
          account: accountOut
        },
        null,
        2
      )}\n`
    )
  else
    io.out(
      `free-model requests today (${day} UTC), key ${apiKeyEnv} [${fingerprint}]: ${used} used (${accountOut.free_used_today.source}), ${left} left of ${perDay}; resets at ${resets}\n${accountLine(accountOut)}\n`
    )
})
