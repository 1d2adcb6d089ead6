/** `runner reconcile <run-dir>`: settles a finished run's paid answers against OpenRouter's bill. */
import { Argument, Command, Flag } from "effect/cli"
import * as F from "../Flags.ts"
import { lazy } from "../Lazy.ts"

export const reconcile = Command.make(
  "reconcile",
  {
    dir: Argument.String("run-dir").pipe(
      Argument.withDescription("a run's records directory (.tollgate/runs/<run-id>)")
    ),
    baseUrl: F.baseUrl,
    apiKeyEnv: Flag.String("api-key-env").pipe(
      Flag.withMetavar("NAME"),
      Flag.withDescription("the variable holding the key the run used (default OPENROUTER_API_KEY)"),
      Flag.optional
    ),
    settleTimeout: F.settleTimeout,
    format: F.format
  },
  (flags) =>
    lazy(
      () => import("../handlers/reconcile.ts"),
      (m) => m.handle(flags)
    )
).pipe(
  Command.withDescription(
    "settle a run's paid answers against the provider's bill (OpenRouter's /generation): only those not settled yet; reports the drift and updates summary.json"
  )
)
