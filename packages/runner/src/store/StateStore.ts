/**
 * Where limits, the quota ledger, the response cache, shared budgets, what runs teach plans
 * (calibration) and the account copies live: the local state dir (default), or a Redis server named by `--store redis://…`, shared by every process and
 * machine using it. One connection serves the plan's reads and the run's layers. The Redis
 * client is loaded only when a store URL is given.
 */

import { join } from "node:path"
import type { BudgetLimits } from "@tollgate/core/Budget"
import { Budget } from "@tollgate/core/Budget"
import * as CatalogStore from "@tollgate/core/CatalogStore"
import * as Files from "@tollgate/core/Files"
import { Limits } from "@tollgate/core/Limits"
import {
  makeFile as makeFileLedger,
  makeMemory as makeMemoryLedger,
  QuotaLedger
} from "@tollgate/core/QuotaLedger"
import { type CacheOptions, pinnedFile, ResponseCache, scopedFile } from "@tollgate/core/ResponseCache"
import type * as Money from "@tollgate/pricing/Money"
import * as Policy from "@tollgate/pricing/Policy"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { fileOf, readFile, writeFile } from "../account/AccountCache.ts"
import type { AccountCopiesShape } from "../account/AccountCopies.ts"
import { StateDamaged, type StoreUnavailable } from "../Errors.ts"
import { type Index, readIndex, updateIndex } from "./CalibrationIndex.ts"
import * as TokenMemo from "./TokenMemoStore.ts"

/** What plan reads (it writes nothing). */
export interface PlanReads {
  readonly ledger: QuotaLedger["Service"]
  readonly cache: ResponseCache["Service"]
  /** Whether a present key may still miss (the file cache checks TTL on read; Redis expires keys itself). */
  readonly verifyHits: boolean
}

export interface RunStoreConfig {
  readonly policy: Policy.Policy
  readonly balanceUsd: number | undefined
  readonly cache: CacheOptions | false
  readonly budget: BudgetLimits
  /** What earlier attempts at this run spent (a resume): the run's budget covers them too. */
  readonly spentBefore: Money.Usd
  /** `budget.shared`: a pool all runs naming it share (per UTC day); needs a shared store. */
  readonly sharedPool: string | undefined
  /** Not an account (echo, offline): no pacing, and the ledger stays in memory. */
  readonly local: boolean
}

/** Free-model requests used on `day`; a damaged ledger is an error naming it, never a silent zero. */
export const usedToday = (
  reads: PlanReads,
  fingerprint: string,
  now: Date
): Effect.Effect<number, StateDamaged> =>
  reads.ledger
    .used(fingerprint, Policy.utcDay(now))
    .pipe(Effect.mapError((e) => new StateDamaged({ message: e.message })))

export type RunServices = Limits | QuotaLedger | ResponseCache | Budget

/**
 * What runs teach plans (`CalibrationIndex`): beside the run records in `runsDir` with the state
 * dir, one index for every runner on a shared store.
 */
export interface CalibrationStore {
  readonly read: (runsDir: string) => Effect.Effect<Index>
  /** Best effort: a failure only means the next plan learns nothing from this run. */
  readonly update: (runsDir: string, f: (index: Index) => Index) => Effect.Effect<void>
}

export interface StateStoreShape {
  /** Where the state lives, fit to print (no password). */
  readonly description: string
  readonly shared: boolean
  /** What in the store's settings could lose shared state (eviction, no persistence), said once per run. */
  readonly warnings: ReadonlyArray<string>
  /** The ledger and cache a plan reads, for the enclosing scope. */
  readonly planReads: (cache: CacheOptions) => Effect.Effect<PlanReads, never, Scope.Scope>
  readonly calibration: CalibrationStore
  readonly accounts: AccountCopiesShape
  /** The refreshed catalog (`runner models refresh`), else the bundled snapshot. */
  readonly catalog: CatalogStore.CatalogStoreShape
  /** The memo of token counts (`plan/TokenMemo.ts`). */
  readonly tokenMemo: TokenMemo.MemoStore
  readonly runLayer: (cfg: RunStoreConfig) => Layer.Layer<RunServices, StoreUnavailable>
}

export class StateStore extends Context.Service<StateStore, StateStoreShape>()(
  "@tollgate/runner/store/StateStore"
) {
  /** The local state dir: files, safe across processes on one machine. */
  static readonly layerFile = (
    stateDir: string
  ): Layer.Layer<StateStore, StateDamaged, FileSystem.FileSystem> =>
    Layer.effect(
      StateStore,
      Effect.gen(function* () {
        const kind = yield* Files.kindOf(stateDir).pipe(
          Effect.mapError((e) => new StateDamaged({ message: `the state dir ${stateDir}: ${e.message}` }))
        )
        if (kind === "file")
          return yield* new StateDamaged({
            message: `the state dir ${stateDir} is a file, not a directory; point TOLLGATE_HOME at a directory`
          })
        // the cache's database stays open from the plan to the run (opened only if one uses it)
        yield* pinnedFile(join(stateDir, "cache"))
        return makeFileStore(stateDir, yield* FileSystem.FileSystem)
      })
    )
}

/**
 * Layers of a run that is not an account (echo, offline): budget in memory, no pacing (neither the
 * free rpm nor the balance's requests per second), the ledger in memory, the cache from `cache`.
 */
export const localRunLayer = <E>(
  cfg: RunStoreConfig,
  cache: Layer.Layer<ResponseCache, E>
): Layer.Layer<RunServices, E> =>
  Layer.mergeAll(
    Budget.layer(cfg.budget, cfg.spentBefore),
    Limits.layerNone,
    Layer.succeed(QuotaLedger, makeMemoryLedger()),
    cache
  )

const makeFileStore = (stateDir: string, fs: FileSystem.FileSystem): StateStoreShape => {
  const withFs = <A, E>(e: Effect.Effect<A, E, FileSystem.FileSystem>) =>
    Effect.provideService(e, FileSystem.FileSystem, fs)
  const cacheDir = join(stateDir, "cache")
  const cacheLayer = (cache: CacheOptions | false) =>
    cache === false ? ResponseCache.layerDisabled : ResponseCache.layerFile(cacheDir, cache)
  return {
    description: `the state dir ${stateDir}`,
    shared: false,
    warnings: [],
    calibration: {
      read: (runsDir) => withFs(readIndex(runsDir)),
      update: (runsDir, f) => withFs(updateIndex(runsDir, f))
    },
    tokenMemo: TokenMemo.fileStore(TokenMemo.fileOf(stateDir), fs),
    catalog: CatalogStore.CatalogStore.make(CatalogStore.fileStorage(stateDir, fs)),
    accounts: {
      read: (baseUrl, fp) => withFs(readFile(fileOf(stateDir, baseUrl, fp))),
      update: (baseUrl, fp, f) => {
        const file = fileOf(stateDir, baseUrl, fp)
        return withFs(Effect.flatMap(readFile(file), (c) => writeFile(file, f(c))))
      }
    },
    planReads: (cache) =>
      Effect.map(scopedFile(cacheDir, cache), (c) => ({
        ledger: makeFileLedger(stateDir),
        cache: c,
        verifyHits: true
      })),
    runLayer: (cfg) =>
      cfg.local
        ? localRunLayer(cfg, cacheLayer(cfg.cache))
        : Layer.mergeAll(
            Budget.layer(cfg.budget, cfg.spentBefore),
            Limits.layer(cfg.policy, cfg.balanceUsd),
            QuotaLedger.layerFile(stateDir),
            cacheLayer(cfg.cache)
          )
  }
}
