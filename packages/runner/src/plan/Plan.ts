/**
 * `plan`: validate, then project against the catalog, today's ledger, the response cache and
 * earlier runs. Sends nothing; writes only its memo of token counts. The result is a value `run`
 * consumes.
 */
import { join, resolve } from "node:path"
import { type CacheOptions, cacheKey } from "@tollgate/core/ResponseCache"
import type * as Catalog from "@tollgate/pricing/Catalog"
import type * as Policy from "@tollgate/pricing/Policy"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { Account } from "../account/Account.ts"
import type { AccountFacts } from "../account/AccountFacts.ts"
import { declaredOf, fingerprintOf, policyOf } from "../account/AccountPolicy.ts"
import { parseDeadline } from "../dsl/Deadline.ts"
import type { InputOverride } from "../dsl/Inputs.ts"
import { locate } from "../dsl/Load.ts"
import type { Pipeline, ProviderKind } from "../dsl/Pipeline.ts"
import { baseUrlOf } from "../dsl/Request.ts"
import type { Validated } from "../dsl/ValidateFile.ts"
import { InputInvalid, StoreUnavailable } from "../Errors.ts"
import type { KeyVariables } from "../providers/KeyRoute.ts"
import { Settings, type SettingsShape } from "../Settings.ts"
import { CurrentCatalog } from "../store/CurrentCatalog.ts"
import { type PlanReads, StateStore, usedToday } from "../store/StateStore.ts"
import { hashesOf, type PlanHashes } from "./PlanHashes.ts"
import { type ProjectInput, type Projection, project } from "./Project.ts"
import { RenderFailed } from "./StepProjection.ts"
import * as TokenMemo from "./TokenMemo.ts"
import { validatePipeline } from "./ValidPipeline.ts"

export interface PlanOptions {
  readonly cwd: string
  /** The key variables (read at the edge), by name. */
  readonly keys: KeyVariables
  readonly inputs?: ReadonlyArray<InputOverride> | undefined
  readonly baseUrl?: string | undefined
  readonly maxCostUsd?: number | undefined
  readonly noCache?: boolean | undefined
  /** Where earlier runs are (default `.tollgate/runs` under `cwd`). */
  readonly runsDir?: string | undefined
  readonly now?: Date | undefined
  /** A run plans: the provider's free counter is asked anew, not taken from the copy kept. */
  readonly refreshCounter?: boolean | undefined
  /** `--provider-kind`: overrides the pipeline's `provider.kind`. */
  readonly providerKind?: ProviderKind | undefined
  /** `--deadline`: overrides the pipeline's `deadline` (an instant, or a duration from now). */
  readonly deadline?: string | undefined
}

export interface Planned {
  readonly validated: Validated
  readonly projection: Projection
  readonly policy: Policy.Policy
  readonly fingerprint: string
  readonly baseUrl: string
  readonly hashes: PlanHashes
  readonly catalog: Catalog.Catalog
  /** The account the plan and run take: declared, discovered from the provider, learned or default. */
  readonly account: AccountFacts
  /** What could not be discovered (the declared or default figures stand in). */
  readonly warnings: ReadonlyArray<string>
  /** Expected tokens of a text, from the state dir's memo of counts (the run's calibration counts with it too). */
  readonly tokens: (text: string) => number
  /** The base URL came from `--base-url` (the user's choice, not the pipeline's): the management key may go there. */
  readonly baseUrlGiven: boolean
}

/** Cache size caps from `TOLLGATE_CACHE_MAX_MB` and `TOLLGATE_CACHE_MAX_ENTRIES` (defaults: 512 MiB, 100,000). */
export const cacheOptionsOf = (
  pipeline: Pipeline,
  settings: Pick<SettingsShape, "cacheMaxMb" | "cacheMaxEntries">
): CacheOptions => {
  const mb = settings.cacheMaxMb ?? Number.NaN
  const entries = settings.cacheMaxEntries ?? Number.NaN
  return {
    ttlMs: pipeline.cacheTtlMs,
    ...(Number.isFinite(mb) && mb > 0 ? { maxBytes: mb * 1024 * 1024 } : {}),
    ...(Number.isInteger(entries) && entries > 0 ? { maxEntries: entries } : {})
  }
}

/**
 * Projects with the cache's keys, then checks the keys it counted as hits (an entry may have
 * expired or be damaged); when any fails, projects again with the ones that hold.
 */
const projectWithCache = Effect.fnUntraced(function* (
  input: Omit<ProjectInput, "cached">,
  reads: PlanReads,
  useCache: boolean,
  v: Validated
) {
  const present = useCache ? yield* reads.cache.keys : new Set<string>()
  const first = yield* projectOrFail({ ...input, cached: present }, v)
  if (!reads.verifyHits) return first
  const counted = first.steps.flatMap((s) => s.cachedKeys)
  const held = yield* Effect.filter(counted, (k) => reads.cache.has(k)).pipe(
    Effect.mapError((e) => new StoreUnavailable({ message: `the store stopped answering: ${e.message}` }))
  )
  return held.length === counted.length ? first : yield* projectOrFail({ ...input, cached: new Set(held) }, v)
})

/**
 * The projection; a prompt that cannot render from the inputs is `InputInvalid` naming the
 * template's place in the pipeline, never a crash.
 */
const projectOrFail = (input: ProjectInput, v: Validated) =>
  Effect.try({
    try: () => project(input),
    catch: (e) => {
      const why = `a prompt cannot be rendered from the inputs: ${(e as Error).message.split("\n")[0]}; check the data the pipeline reads`
      if (!(e instanceof RenderFailed)) return new InputInvalid({ message: why })
      const p = locate(v.loaded, [...e.path])
      return new InputInvalid({ message: `${v.display}:${p.line}:${p.col}: ${why}` })
    }
  })

/** Projects a validated pipeline against the store's ledger and cache (read only). */
export const planValidated = Effect.fn("Plan.planValidated")(function* (v: Validated, opts: PlanOptions) {
  const store = yield* StateStore
  const pipeline = v.pipeline
  // an endpoint may bill up to the stated markup over the list price: the plan prices that
  const catalog = (yield* CurrentCatalog).withDeclared(v.spec.pricing ?? {}).withMarkup(pipeline.priceMarkup)
  const policy = policyOf(pipeline)
  const fingerprint = fingerprintOf(pipeline, opts.keys)
  const now = opts.now ?? new Date(yield* Clock.currentTimeMillis)
  const baseUrl = baseUrlOf(pipeline, opts.baseUrl)
  const settings = yield* Settings
  const reads = yield* store.planReads(cacheOptionsOf(pipeline, settings))
  const { facts: account, warnings } = yield* (yield* Account).resolve({
    keys: opts.keys,
    baseUrl,
    baseUrlGiven: opts.baseUrl !== undefined,
    apiKeyEnv: pipeline.apiKeyEnv,
    fingerprint,
    declared: declaredOf(pipeline),
    policy: policy.free,
    now,
    refreshCounter: opts.refreshCounter,
    // only OpenRouter has these account calls; another endpoint is asked nothing
    ask: pipeline.providerKind === "openrouter"
  })
  const counts = yield* TokenMemo.open(store.tokenMemo)
  const hashes = hashesOf(v, catalog)
  const projection = yield* projectWithCache(
    {
      pipeline,
      inputs: v.inputs.values,
      catalog,
      policy,
      fingerprint,
      freeUsedToday: yield* usedToday(reads, fingerprint, now),
      cacheKey: (body) => cacheKey(baseUrl, body),
      calibration: yield* store.calibration.read(
        resolve(opts.cwd, opts.runsDir ?? join(".tollgate", "runs"))
      ),
      now,
      account,
      maxCostOverride: opts.maxCostUsd,
      tokens: counts.expected,
      stepCounts: { series: counts.series, inputsDigest: hashes.inputs },
      deadlineMs: deadlineOf(opts.deadline ?? pipeline.deadline, now)
    },
    reads,
    pipeline.cacheEnabled && opts.noCache !== true,
    v
  )
  yield* counts.save
  return {
    validated: v,
    projection,
    policy,
    fingerprint,
    baseUrl,
    hashes,
    catalog,
    account,
    warnings,
    baseUrlGiven: opts.baseUrl !== undefined,
    tokens: counts.expected
  } satisfies Planned
}, Effect.scoped)

/** The deadline as epoch ms: an instant, or a duration from `now` (the schema and the flag's check took its form). */
const deadlineOf = (text: string | undefined, now: Date): number | undefined =>
  text === undefined ? undefined : parseDeadline(text, now.getTime())

/** Validates and projects a pipeline file. */
export const planFile = (file: string, opts: PlanOptions) =>
  Effect.flatMap(validatePipeline(file, opts), (v) => planValidated(v, opts))
