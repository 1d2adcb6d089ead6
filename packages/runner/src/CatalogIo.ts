/** The catalog the CLI uses: the state dir's refreshed copy, else the bundled snapshot. */
import { type Catalog, CatalogStore, StateDir } from "@tollgate/pricing"
import { Effect } from "effect"
import type { Io } from "./Io.ts"

export const catalogStore = (io: Io): CatalogStore.CatalogStoreShape =>
  CatalogStore.CatalogStore.make(StateDir.stateDir(io.env))

/** The catalog in use for this process's environment. `TOLLGATE_CATALOG` names a file to use instead. */
export const loadCatalog = async (io: Io): Promise<Catalog.Catalog> => {
  const file = io.env.TOLLGATE_CATALOG
  if (file) return CatalogStore.fromFile(file)
  return Effect.runPromise(catalogStore(io).current)
}
