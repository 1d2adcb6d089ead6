/**
 * The one place the runner's services are chosen from the options: the catalog in use, the state
 * store (the state dir, or Redis with `--store`), and the provider (HTTP, echo or offline). The
 * CLI and the library both build their layer here.
 */

import type * as Catalog from "@tollgate/pricing/Catalog"
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import { Account } from "./account/Account.ts"
import { AccountCopies } from "./account/AccountCopies.ts"
import type { StateDamaged, StoreUnavailable } from "./Errors.ts"
import { Providers } from "./providers/Providers.ts"
import { Settings, type SettingsShape } from "./Settings.ts"
import { CurrentCatalog, catalogFromFile, loadCatalog } from "./store/CurrentCatalog.ts"
import { StateStore } from "./store/StateStore.ts"

export interface MainOptions {
  /** The settings the edge read from the environment (`Settings.ts`). */
  readonly settings: SettingsShape
  /** `redis://…`: share limits, ledger, cache and budget pools; default: the state dir. */
  readonly store?: string | undefined
  /** Send nothing: every request must come from the cache. */
  readonly offline?: boolean | undefined
  /** A catalog to use instead of the state dir's (tests, embedding). */
  readonly catalog?: Catalog.Catalog | undefined
}

/** The Redis store, its client loaded only when a store URL is given. */
const redisStore = (url: string): Layer.Layer<StateStore, StoreUnavailable> =>
  Layer.unwrap(
    Effect.map(
      Effect.promise(() => import("./store/RedisStateStore.ts")),
      (m) => m.layer(url)
    )
  )

/** The account's copies, where the state store keeps them. */
const copiesOf = Layer.effect(
  AccountCopies,
  Effect.gen(function* () {
    return (yield* StateStore).accounts
  })
)

export type MainServices = CurrentCatalog | StateStore | Providers | Account | Settings

/** The state store: Redis with a store URL, else the state dir. */
export const storeLayer = (
  settings: SettingsShape,
  store: string | undefined
): Layer.Layer<StateStore, StoreUnavailable | StateDamaged, FileSystem.FileSystem> =>
  store !== undefined ? redisStore(store) : StateStore.layerFile(settings.stateDir)

/** The catalog in use for a command that needs nothing else: the store is opened only when no `TOLLGATE_CATALOG` is set. */
export const catalogFor = (settings: SettingsShape) =>
  settings.catalogFile !== undefined
    ? catalogFromFile(settings.catalogFile)
    : loadCatalog(settings).pipe(Effect.provide(storeLayer(settings, settings.store)))

export const mainLayer = (
  o: MainOptions
): Layer.Layer<MainServices, StoreUnavailable | StateDamaged, FileSystem.FileSystem> => {
  const providers = o.offline === true ? Providers.layerOffline : Providers.layerAuto
  return Layer.mergeAll(
    Layer.succeed(Settings, o.settings),
    o.catalog !== undefined ? CurrentCatalog.layerOf(o.catalog) : CurrentCatalog.layer(o.settings),
    Account.layer.pipe(Layer.provideMerge(providers), Layer.provide(copiesOf))
  ).pipe(Layer.provideMerge(storeLayer(o.settings, o.store)))
}
