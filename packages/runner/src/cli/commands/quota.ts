/** `runner quota [pipeline.yaml]`: today's free-model requests used and left, from the ledger. */
import { Argument, Command, Flag } from "effect/cli"
import * as F from "../Flags.ts"
import { lazy } from "../Lazy.ts"

export const quota = Command.make(
  "quota",
  {
    pipeline: Argument.String("pipeline").pipe(
      Argument.withDescription("a pipeline, to read its key variable and account (optional)"),
      Argument.optional
    ),
    creditsPurchased: Flag.String("credits-purchased").pipe(
      Flag.withMetavar("USD"),
      Flag.withDescription(
        "USD of credits ever bought: $10 or more lifts the free cap from 50 to 1,000 a day"
      ),
      Flag.optional
    ),
    format: F.format,
    store: F.store
  },
  (flags) =>
    lazy(
      () => import("../handlers/quota.ts"),
      (m) => m.handle(flags)
    )
).pipe(
  Command.withDescription("today's free-model requests used and left for the key, from the quota ledger")
)
