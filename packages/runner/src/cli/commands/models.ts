/** `runner models [--free] [--search TEXT]` and `runner models refresh [--base-url URL]`. */
import { Command, Flag } from "effect/cli"
import * as F from "../Flags.ts"
import { lazy } from "../Lazy.ts"

const refresh = Command.make(
  "refresh",
  {
    baseUrl: Flag.String("base-url").pipe(
      Flag.withMetavar("URL"),
      Flag.withDescription("fetch GET {base-url}/models (default $OPENROUTER_BASE_URL, else OpenRouter)"),
      Flag.optional
    )
  },
  (flags) =>
    lazy(
      () => import("../handlers/models.ts"),
      (m) => m.handleRefresh(flags)
    )
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
  (flags) =>
    lazy(
      () => import("../handlers/models.ts"),
      (m) => m.handle(flags)
    )
).pipe(
  Command.withDescription("the catalog: id, context, USD per 1M tokens, free-tier policy"),
  Command.withSubcommands([refresh])
)
