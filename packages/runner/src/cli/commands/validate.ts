/** `runner validate <pipeline.yaml>`: exit 0 when well formed, 2 with every diagnostic otherwise. */
import { Command } from "effect/cli"
import * as F from "../Flags.ts"
import { lazy } from "../Lazy.ts"

export const validate = Command.make("validate", { pipeline: F.pipeline, input: F.input }, (flags) =>
  lazy(
    () => import("../handlers/validate.ts"),
    (m) => m.handle(flags)
  )
).pipe(
  Command.withDescription(
    "check a pipeline (schema and semantics); every problem as file:line:col: message [rule]"
  )
)
