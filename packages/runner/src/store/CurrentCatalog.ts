/** The catalog in use: `TOLLGATE_CATALOG` (a file), else the state store's refreshed copy, else the bundled snapshot. */

import * as CatalogStore from "@tollgate/core/CatalogStore"
import type * as Catalog from "@tollgate/pricing/Catalog"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import { StateDamaged } from "../Errors.ts"
import type { SettingsShape } from "../Settings.ts"
import { StateStore } from "./StateStore.ts"

export class CurrentCatalog extends Context.Service<CurrentCatalog, Catalog.Catalog>()(
  "@tollgate/runner/store/CurrentCatalog"
) {
  static readonly layer = (
    settings: Pick<SettingsShape, "catalogFile">
  ): Layer.Layer<CurrentCatalog, StateDamaged, FileSystem.FileSystem | StateStore> =>
    Layer.effect(CurrentCatalog, loadCatalog(settings))
  static readonly layerOf = (catalog: Catalog.Catalog) => Layer.succeed(CurrentCatalog, catalog)
}

/** The catalog in use for this environment. */
export const loadCatalog = (
  settings: Pick<SettingsShape, "catalogFile">
): Effect.Effect<Catalog.Catalog, StateDamaged, FileSystem.FileSystem | StateStore> =>
  settings.catalogFile !== undefined
    ? catalogFromFile(settings.catalogFile)
    : Effect.flatMap(StateStore, (store) => store.catalog.current)

/** `TOLLGATE_CATALOG`: a models catalog file, read and decoded, or `StateDamaged` naming it. */
export const catalogFromFile = (
  file: string
): Effect.Effect<Catalog.Catalog, StateDamaged, FileSystem.FileSystem> =>
  CatalogStore.fromFile(file).pipe(
    Effect.mapError(
      (e) =>
        new StateDamaged({
          message: `TOLLGATE_CATALOG=${file}: ${messageOf(e)}; point it at a models catalog (OpenRouter's /models JSON)`
        })
    )
  )

/** A file system error's reason and path, or a decode error's message. */
const messageOf = (e: { readonly message: string; readonly error?: unknown }): string =>
  e.error instanceof Error ? e.error.message : e.message
