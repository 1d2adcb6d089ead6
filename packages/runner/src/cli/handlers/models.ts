/** `runner models [--free] [--search TEXT]` and `runner models refresh [--base-url URL]`. */
import * as CatalogStore from "@tollgate/core/CatalogStore"
import * as Policy from "@tollgate/pricing/Policy"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { InputInvalid } from "../../Errors.ts"
import { catalogFor, storeLayer } from "../../MainLayer.ts"
import { describeSource } from "../../report/Format.ts"
import { modelsJson, renderModels } from "../../report/ModelsReport.ts"
import { loadCatalog } from "../../store/CurrentCatalog.ts"
import { StateStore } from "../../store/StateStore.ts"
import { edgeSettings } from "../EdgeSettings.ts"
import { CommandExit } from "../Failures.ts"
import type { Format } from "../Flags.ts"
import { Io } from "../Io.ts"
import { parseBaseUrl } from "./Parse.ts"

export interface RefreshFlags {
  readonly baseUrl: Option.Option<string>
}

export const handleRefresh = Effect.fn("runner models refresh")(function* (flags: RefreshFlags) {
  const io = yield* Io
  const settings = yield* edgeSettings
  // the legacy OPENROUTER_BASE_URL still names a catalog to refresh from
  const baseUrl =
    (yield* parseBaseUrl(flags.baseUrl, { baseUrl: settings.baseUrl ?? settings.legacyBaseUrl })) ??
    CatalogStore.DEFAULT_BASE_URL
  if (baseUrl.startsWith("echo:"))
    return yield* new InputInvalid({ message: "--base-url echo: has no catalog to refresh from" })
  // the catalog is the state store's: with TOLLGATE_STORE, every machine on it plans with this one
  return yield* Effect.gen(function* () {
    const store = yield* StateStore
    const refreshed = yield* Effect.result(store.catalog.refresh(baseUrl, CatalogStore.DEFAULT_LIMITS))
    if (refreshed._tag === "Success")
      return io.err(`catalog refreshed: ${describeSource(refreshed.success)}\n`)
    const current = yield* loadCatalog(settings)
    return yield* new CommandExit({
      code: 1,
      message: `error: refresh failed: ${refreshed.failure.message}; still using ${describeSource(current)}`
    })
  }).pipe(Effect.provide(storeLayer(settings, settings.store)))
})

export interface ModelsFlags {
  readonly free: boolean
  readonly search: Option.Option<string>
  readonly format: Format
}

export const handle = Effect.fn("runner models")(function* (flags: ModelsFlags) {
  const io = yield* Io
  const settings = yield* edgeSettings
  const catalog = yield* catalogFor(settings)
  const policy = Policy.defaultPolicy
  const found = Option.isSome(flags.search) ? catalog.search(flags.search.value) : catalog.models
  const list = [...(flags.free ? found.filter((m) => m.free) : found)].sort((a, b) =>
    a.id.localeCompare(b.id)
  )
  if (flags.format === "json")
    return io.out(`${JSON.stringify(modelsJson(catalog, list, policy), null, 2)}\n`)
  io.out(renderModels(list, policy, flags.format))
  io.err(`${list.length} of ${catalog.size} models; catalog: ${describeSource(catalog)}\n`)
  for (const issue of catalog.issues)
    io.err(`catalog: skipped entry ${issue.index}${issue.id ? ` (${issue.id})` : ""}: ${issue.message}\n`)
})
