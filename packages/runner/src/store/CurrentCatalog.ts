/** The catalog in use: `TOLLGATE_CATALOG` (a file), else the state dir's refreshed copy, else the bundled snapshot. */

import * as CatalogStore from "@tollgate/core/CatalogStore"
import * as StateDir from "@tollgate/core/StateDir"
import type * as Catalog from "@tollgate/pricing/Catalog"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { StateDamaged } from "../Errors.ts"

export class CurrentCatalog extends Context.Service<CurrentCatalog, Catalog.Catalog>()(
  "@tollgate/runner/store/CurrentCatalog"
) {
  static readonly layer = (env: NodeJS.ProcessEnv): Layer.Layer<CurrentCatalog, StateDamaged> =>
    Layer.effect(CurrentCatalog, loadCatalog(env))
  static readonly layerOf = (catalog: Catalog.Catalog) => Layer.succeed(CurrentCatalog, catalog)
}

/** The catalog store of the state dir (for refresh). */
export const catalogStore = (env: NodeJS.ProcessEnv): CatalogStore.CatalogStoreShape =>
  CatalogStore.CatalogStore.make(StateDir.stateDir(env))

/** The catalog in use for this environment. */
export const loadCatalog = (env: NodeJS.ProcessEnv): Effect.Effect<Catalog.Catalog, StateDamaged> => {
  const file = env.TOLLGATE_CATALOG
  if (!file) return catalogStore(env).current
  return Effect.try({
    try: () => CatalogStore.fromFile(file),
    catch: (e) =>
      new StateDamaged({
        message: `TOLLGATE_CATALOG=${file}: ${(e as Error).message}; point it at a models catalog (OpenRouter's /models JSON)`
      })
  })
}
