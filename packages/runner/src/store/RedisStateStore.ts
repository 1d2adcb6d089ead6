/** The state store in Redis (`--store redis://…`). Loaded only when a store URL is given. */
import * as NodeRedis from "@effect/platform-node/NodeRedis"
import { Budget } from "@tollgate/core/Budget"
import { type CatalogStorage, CatalogStore } from "@tollgate/core/CatalogStore"
import * as RedisStores from "@tollgate/core/RedisStores"
import { ResponseCache } from "@tollgate/core/ResponseCache"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Redis } from "effect/persistence"
import { StoreUnavailable } from "../Errors.ts"
import { makeAccounts } from "./RedisAccounts.ts"
import { makeCalibration } from "./RedisCalibration.ts"
import { makeCatalogStorage } from "./RedisCatalogStorage.ts"
import { makeTokenMemo } from "./RedisTokenMemo.ts"
import { localRunLayer, StateStore, type StateStoreShape } from "./StateStore.ts"
import { parseStoreUrl, redactUrl } from "./StoreUrl.ts"

/** A Redis connection failure as a message fit to print (no password). */
const unavailable = (url: string, e: { readonly cause?: unknown; readonly message?: string }) =>
  new StoreUnavailable({
    message: `cannot reach the store ${redactUrl(url)}: ${redactUrl(String((e.cause as { message?: string } | undefined)?.message ?? e.message ?? e))}`
  })

/** A layer over the store whose construction failing is `StoreUnavailable` naming the store. */
const storeLayer = <A, E extends { readonly message?: string }>(url: string, layer: Layer.Layer<A, E>) =>
  Layer.effectContext(Layer.build(layer).pipe(Effect.mapError((e) => unavailable(url, e))))

const make = (
  url: string,
  redis: Context.Context<Redis.Redis>,
  warnings: ReadonlyArray<string>,
  calibration: Effect.Success<typeof makeCalibration>,
  accounts: Effect.Success<typeof makeAccounts>,
  tokenMemo: Effect.Success<typeof makeTokenMemo>,
  catalog: CatalogStorage
): StateStoreShape => {
  const provide = <A, E>(e: Effect.Effect<A, E, Redis.Redis>) => Effect.provide(e, redis)
  return {
    description: `the store ${redactUrl(url)}`,
    shared: true,
    warnings,
    // one index for the store, whichever out-dir a run writes its records to
    calibration: { read: () => calibration.read, update: (_, f) => calibration.update(f) },
    accounts,
    tokenMemo,
    catalog: CatalogStore.make(catalog),
    planReads: (cache) =>
      Effect.all({
        ledger: provide(RedisStores.makeLedger),
        cache: provide(RedisStores.makeCache(cache))
      }).pipe(
        Effect.map((r) => ({ ...r, verifyHits: false })),
        Effect.orDie
      ),
    runLayer: (cfg) => {
      if (cfg.local)
        return localRunLayer<StoreUnavailable>(
          cfg,
          cfg.cache === false
            ? ResponseCache.layerDisabled
            : storeLayer(url, Layer.effect(ResponseCache, provide(RedisStores.makeCache(cfg.cache))))
        )
      const pool = cfg.sharedPool
      const budget =
        pool === undefined
          ? Budget.layer(cfg.budget, cfg.spentBefore)
          : Layer.effect(Budget, RedisStores.makeSharedBudget(pool, cfg.budget))
      return storeLayer(
        url,
        Layer.mergeAll(RedisStores.layers(cfg.policy, cfg.balanceUsd, cfg.cache), budget).pipe(
          Layer.provide(Layer.succeedContext(redis))
        )
      )
    }
  }
}

export const layer = (url: string): Layer.Layer<StateStore, StoreUnavailable> =>
  Layer.effect(
    StateStore,
    Effect.gen(function* () {
      const conn = parseStoreUrl(url)
      if (typeof conn === "string") return yield* new StoreUnavailable({ message: conn })
      const redis = yield* Layer.build(
        NodeRedis.layer({
          ...conn,
          socket: {
            host: conn.socket.host,
            port: conn.socket.port,
            ...(conn.socket.tls ? { tls: true as const } : {}),
            connectTimeout: 5_000,
            reconnectStrategy: false
          }
        })
      ).pipe(Effect.mapError((e) => unavailable(url, e)))
      return make(
        url,
        redis,
        yield* Effect.provide(RedisStores.durabilityWarnings, redis),
        yield* Effect.provide(makeCalibration, redis),
        yield* Effect.provide(makeAccounts, redis),
        yield* Effect.provide(makeTokenMemo, redis),
        yield* Effect.provide(makeCatalogStorage(`the store ${redactUrl(url)}`), redis)
      )
    })
  )
