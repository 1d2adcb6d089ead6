/**
 * Where limits, the quota ledger and the response cache live: the local state dir (default), or
 * a Redis server named by `--store redis://…`, shared by every process and machine using it.
 */
import { join } from "node:path"
import { NodeRedis } from "@effect/platform-node"
import { Budget, Limits, QuotaLedger, RedisStores, ResponseCache } from "@tollgate/core"
import { Policy } from "@tollgate/pricing"
import { Effect, Layer, Schema, type Scope } from "effect"
import type { Redis } from "effect/persistence"

export class StoreUnavailable extends Schema.TaggedError<StoreUnavailable>()("StoreUnavailable", {
  message: Schema.String
}) {}

/** A store URL fit to print: any password removed. */
export const redactUrl = (url: string): string => url.replace(/\/\/[^@/]*@/, "//***@")

export interface StoreConfig {
  /** `redis://host:port[/db]`, or undefined for the local state dir. */
  readonly url: string | undefined
  readonly stateDir: string
}

export const checkStoreUrl = (url: string): string | undefined =>
  /^rediss?:\/\/[^\s]+$/.test(url)
    ? undefined
    : `--store: expected redis://host:port, got "${redactUrl(url)}"`

const redisLayer = (url: string) =>
  NodeRedis.layer({ url, socket: { connectTimeout: 5_000, reconnectStrategy: false } })

/** A Redis connection failure as a message fit to print (no password). */
export const storeUnavailable = (url: string, e: { readonly cause?: unknown; readonly message?: string }) =>
  new StoreUnavailable({
    message: `cannot reach the store ${redactUrl(url)}: ${redactUrl(String((e.cause as { message?: string } | undefined)?.message ?? e.message ?? e))}`
  })

/** Limits, ledger and cache for a run. */
export const runLayers = (
  cfg: StoreConfig,
  opts: {
    readonly policy: Policy.Policy
    readonly balanceUsd: number | undefined
    readonly cache: ResponseCache.CacheOptions | false
    readonly budget: Budget.BudgetLimits
    /** `budget.shared`: a pool all runs naming it share (per UTC day); needs a store. */
    readonly sharedPool: string | undefined
  }
): Layer.Layer<
  Limits.Limits | QuotaLedger.QuotaLedger | ResponseCache.ResponseCache | Budget.Budget,
  Redis.RedisError
> => {
  if (cfg.url !== undefined) {
    const pool = opts.sharedPool
    const budget =
      pool === undefined
        ? Budget.Budget.layer(opts.budget)
        : Layer.effect(
            Budget.Budget,
            RedisStores.makeSharedBudget(pool, opts.budget, () => Policy.utcDay(new Date()))
          )
    return Layer.mergeAll(RedisStores.layers(opts.policy, opts.balanceUsd, opts.cache), budget).pipe(
      Layer.provide(redisLayer(cfg.url))
    )
  }
  return Layer.mergeAll(
    Budget.Budget.layer(opts.budget),
    Limits.Limits.layer(opts.policy, opts.balanceUsd),
    QuotaLedger.QuotaLedger.layerFile(cfg.stateDir),
    opts.cache === false
      ? ResponseCache.ResponseCache.layerDisabled
      : ResponseCache.ResponseCache.layerFile(join(cfg.stateDir, "cache"), opts.cache)
  )
}

export interface PlanStores {
  readonly ledger: QuotaLedger.QuotaLedgerShape
  readonly cache: ResponseCache.ResponseCacheShape
  /** The file cache checks an entry's TTL on lookup; Redis expires entries itself. */
  readonly verifyHits: boolean
}

/** The ledger and cache plan reads (it writes nothing). */
export const planStores = (
  cfg: StoreConfig,
  cache: ResponseCache.CacheOptions
): Effect.Effect<PlanStores, StoreUnavailable, Scope.Scope> => {
  if (cfg.url === undefined)
    return Effect.succeed({
      ledger: QuotaLedger.makeFile(cfg.stateDir),
      cache: ResponseCache.makeFile(join(cfg.stateDir, "cache"), cache),
      verifyHits: true
    })
  return Effect.gen(function* () {
    const url = cfg.url!
    const ctx = yield* Layer.build(redisLayer(url)).pipe(Effect.mapError((e) => storeUnavailable(url, e)))
    const provide = <A, E>(e: Effect.Effect<A, E, Redis.Redis>) => Effect.provide(e, ctx)
    return {
      ledger: yield* provide(RedisStores.makeLedger),
      cache: yield* provide(RedisStores.makeCache(cache)),
      verifyHits: false
    }
  })
}
