/** `runner models [--free] [--search TEXT]` and `runner models refresh [--base-url URL]`. */
import * as CatalogStore from "@tollgate/pricing/CatalogStore"
import * as Policy from "@tollgate/pricing/Policy"
import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { describeSource } from "../../report/Format.ts"
import { modelsJson, renderModels } from "../../report/ModelsReport.ts"
import { catalogStore, loadCatalog } from "../../store/CurrentCatalog.ts"
import { CommandExit } from "../Failures.ts"
import * as F from "../Flags.ts"
import { Io } from "../Io.ts"

const refresh = Command.make(
  "refresh",
  {
    baseUrl: Flag.String("base-url").pipe(
      Flag.withMetavar("URL"),
      Flag.withDescription("fetch GET {base-url}/models (default $OPENROUTER_BASE_URL, else OpenRouter)"),
      Flag.optional
    )
  },
  Effect.fnUntraced(function* (flags) {
    const io = yield* Io
    const baseUrl =
      Option.getOrUndefined(flags.baseUrl) ?? io.env.OPENROUTER_BASE_URL ?? CatalogStore.DEFAULT_BASE_URL
    const refreshed = yield* Effect.result(catalogStore(io.env).refresh(baseUrl, CatalogStore.DEFAULT_LIMITS))
    if (refreshed._tag === "Success")
      return io.err(`catalog refreshed: ${describeSource(refreshed.success)}\n`)
    const current = yield* loadCatalog(io.env)
    return yield* new CommandExit({
      code: 1,
      message: `error: refresh failed: ${refreshed.failure.message}; still using ${describeSource(current)}`
    })
  })
).pipe(
  Command.withDescription(
    "fetch the provider's models (30 s timeout, 32 MiB cap, schema-checked) as the catalog from now on; on failure the catalog in use is kept"
  )
)

export const models = Command.make(
  "models",
  {
    free: Flag.Boolean("free").pipe(
      Flag.withDescription("only free models (:free and zero-priced)"),
      Flag.withDefault(false)
    ),
    search: Flag.String("search").pipe(
      Flag.withMetavar("TEXT"),
      Flag.withDescription("only models whose id or name contains TEXT"),
      Flag.optional
    ),
    format: F.format
  },
  Effect.fnUntraced(function* (flags) {
    const io = yield* Io
    const catalog = yield* loadCatalog(io.env)
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
).pipe(
  Command.withDescription("the catalog: id, context, USD per 1M tokens, free-tier policy"),
  Command.withSubcommands([refresh])
)
