/** The catalog in use: `TOLLGATE_CATALOG` (a file), else the state dir's refreshed copy, else the bundled snapshot. */

import * as CatalogStore from "@tollgate/core/CatalogStore"
import type * as Catalog from "@tollgate/pricing/Catalog"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { StateDamaged } from "../Errors.ts"
import type { SettingsShape } from "../Settings.ts"

export class CurrentCatalog extends Context.Service<CurrentCatalog, Catalog.Catalog>()(
  "@tollgate/runner/store/CurrentCatalog"
) {
  static readonly layer = (
    settings: Pick<SettingsShape, "stateDir" | "catalogFile">
  ): Layer.Layer<CurrentCatalog, StateDamaged> => Layer.effect(CurrentCatalog, loadCatalog(settings))
  static readonly layerOf = (catalog: Catalog.Catalog) => Layer.succeed(CurrentCatalog, catalog)
}

/** The catalog store of the state dir (for refresh). */
export const catalogStore = (settings: Pick<SettingsShape, "stateDir">): CatalogStore.CatalogStoreShape =>
  CatalogStore.CatalogStore.make(settings.stateDir)

/** The catalog in use for this environment. */
export const loadCatalog = (
  settings: Pick<SettingsShape, "stateDir" | "catalogFile">
): Effect.Effect<Catalog.Catalog, StateDamaged> => {
  const file = settings.catalogFile
  if (file === undefined) return catalogStore(settings).current
  return Effect.try({
    try: () => CatalogStore.fromFile(file),
    catch: (e) =>
      new StateDamaged({
        message: `TOLLGATE_CATALOG=${file}: ${(e as Error).message}; point it at a models catalog (OpenRouter's /models JSON)`
      })
  })
}
