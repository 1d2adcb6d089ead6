/**
 * `plan`: validate, then project against the catalog, today's ledger, the response cache and
 * earlier runs. Sends nothing. The result is a value `run` consumes, and JSON as the spec says.
 */
import { createHash } from "node:crypto"
import { join } from "node:path"
import { Fingerprint, ResponseCache } from "@tollgate/core"
import { type Catalog, Money, Policy, StateDir } from "@tollgate/pricing"
import { Effect } from "effect"
import { cacheCaps } from "./Execute.ts"
import { catalogJson } from "./Format.ts"
import { readHistory } from "./History.ts"
import type { InputOverride } from "./Inputs.ts"
import type { Pipeline } from "./Pipeline.ts"
import { type Projection, project } from "./Project.ts"
import { baseUrlOf } from "./Requests.ts"
import { planStores, redactUrl, type StoreUnavailable } from "./Stores.ts"
import { type Validated, type ValidateResult, validateFile } from "./Validate.ts"

export const FORMAT_VERSION = 1

export interface PlanOptions {
  readonly cwd: string
  readonly env: NodeJS.ProcessEnv
  readonly catalog: Catalog.Catalog
  readonly inputs?: ReadonlyArray<InputOverride>
  readonly baseUrl?: string | undefined
  readonly maxCostUsd?: number | undefined
  readonly noCache?: boolean
  readonly runsDir?: string | undefined
  readonly now?: Date
  /** `redis://…` to read the shared ledger and cache; default: the state dir. */
  readonly store?: string | undefined
}

export interface Planned {
  readonly validated: Validated
  readonly projection: Projection
  readonly policy: Policy.Policy
  readonly fingerprint: string
  readonly baseUrl: string
  readonly hashes: PlanHashes
  readonly catalog: Catalog.Catalog
}

export interface PlanHashes {
  readonly pipeline: string
  readonly inputs: string
  readonly data: Readonly<Record<string, string>>
  readonly prices: string
}

/** The policy a pipeline runs under: OpenRouter's, with `limits.models` overrides. */
export const policyOf = (pipeline: Pipeline): Policy.Policy =>
  Policy.make({
    models: pipeline.modelLimits,
    free: {
      rpm: pipeline.freeLimits.rpm,
      scope: pipeline.freeLimits.scope,
      perDayLow: pipeline.freeLimits.per_day,
      perDayHigh: pipeline.freeLimits.per_day
    }
  })

export const fingerprintOf = (pipeline: Pipeline, env: NodeJS.ProcessEnv): string =>
  Fingerprint.keyFingerprint(env[pipeline.apiKeyEnv])

const sha = (text: string) => createHash("sha256").update(text).digest("hex")

/** Hashes of everything a saved plan depends on: a change to any makes it stale. */
export const hashesOf = (v: Validated, catalog: Catalog.Catalog): PlanHashes => {
  const models = [...new Set(v.pipeline.steps.flatMap((s) => s.models))].sort()
  const prices = models.map((id) => {
    const m = catalog.resolve(id)?.model
    return [
      id,
      m
        ? Object.fromEntries(
            Object.entries(m.rates).map(([k, r]) => [
              k,
              r === null ? "-1" : r === undefined ? null : Money.toPlain(r)
            ])
          )
        : null,
      m?.overrides ?? []
    ]
  })
  return {
    pipeline: sha(v.loaded.source),
    inputs: sha(Fingerprint.canonicalJson(v.inputs.values)),
    data: v.inputs.files,
    prices: sha(Fingerprint.canonicalJson(prices))
  }
}

export type PlanResult =
  | { readonly ok: true; readonly planned: Planned }
  | { readonly ok: false; readonly invalid: Extract<ValidateResult, { ok: false }> }

/** Validates and projects a pipeline file. */
export const planFile = (file: string, opts: PlanOptions): Effect.Effect<PlanResult, StoreUnavailable> =>
  Effect.gen(function* () {
    const result = validateFile(file, { cwd: opts.cwd, catalog: opts.catalog, inputs: opts.inputs ?? [] })
    if (!result.ok) return { ok: false, invalid: result } as const
    return { ok: true, planned: yield* planValidated(result.value, opts) } as const
  })

/** Projects a validated pipeline against the store's ledger and cache (read only). */
export const planValidated = (v: Validated, opts: PlanOptions): Effect.Effect<Planned, StoreUnavailable> =>
  Effect.scoped(
    Effect.gen(function* () {
      const pipeline = v.pipeline
      const policy = policyOf(pipeline)
      const fingerprint = fingerprintOf(pipeline, opts.env)
      const now = opts.now ?? new Date()
      const baseUrl = baseUrlOf(pipeline, opts.baseUrl)
      const stores = yield* planStores(
        { url: opts.store, stateDir: StateDir.stateDir(opts.env) },
        { ttlMs: pipeline.cacheTtlMs, ...cacheCaps(opts.env) }
      )
      const freeUsedToday = yield* Effect.orElseSucceed(
        stores.ledger.used(fingerprint, Policy.utcDay(now)),
        () => 0
      )
      const useCache = pipeline.cacheEnabled && !opts.noCache
      // one listing instead of a lookup per request: most requests of a big plan are misses
      const present = useCache ? yield* stores.cache.keys : new Set<string>()
      const projection = project({
        pipeline,
        inputs: v.inputs.values,
        catalog: opts.catalog,
        policy,
        fingerprint,
        freeUsedToday,
        isCached: (body) => {
          if (present.size === 0) return false
          const key = ResponseCache.cacheKey(baseUrl, body)
          return present.has(key) && (!stores.verifyHits || Effect.runSync(stores.cache.has(key)))
        },
        history: readHistory(opts.runsDir ?? join(opts.cwd, ".tollgate", "runs"), pipeline.name),
        now,
        maxCostOverride: opts.maxCostUsd
      })
      return {
        validated: v,
        projection,
        policy,
        fingerprint,
        baseUrl,
        hashes: hashesOf(v, opts.catalog),
        catalog: opts.catalog
      }
    })
  )

const usd = (m: Money.Usd) => Money.toNumber(m)

/** The plan as versioned JSON (spec/cli.md). */
export const planJson = (p: Planned) => {
  const proj = p.projection
  return {
    format_version: FORMAT_VERSION,
    pipeline: { name: p.validated.pipeline.name, file: p.validated.display },
    ok: proj.violations.length === 0,
    complete: proj.complete,
    requests: proj.requests,
    free_requests: proj.freeRequests,
    cost_usd: { expected: usd(proj.costExpected), max: usd(proj.costMax) },
    min_duration_s: proj.minDurationS,
    steps: proj.steps.map((s) => ({
      id: s.id,
      model: s.model,
      free: s.free,
      ...(s.skipped ? { skipped: true } : {}),
      requests: s.requests,
      cached: s.cached,
      count_known: s.countKnown,
      tokens: s.tokens,
      cost_usd: { expected: usd(s.costExpected), max: usd(s.costMax) },
      max_request_cost_usd: usd(s.maxRequestCost)
    })),
    quota: {
      free_per_day: proj.quota.freePerDay,
      free_used_today: proj.quota.freeUsedToday,
      free_left_today: proj.quota.freeLeftToday
    },
    budget: {
      max_cost_usd: proj.budget.maxCostUsd ?? null,
      max_requests: proj.budget.maxRequests ?? null,
      max_free_requests: proj.budget.maxFreeRequests ?? null,
      gate: proj.budget.gate
    },
    violations: proj.violations,
    catalog: catalogJson(p.catalog),
    base_url: redactUrl(p.baseUrl),
    hashes: p.hashes
  }
}
export type PlanJson = ReturnType<typeof planJson>
