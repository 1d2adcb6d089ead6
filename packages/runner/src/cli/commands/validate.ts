/** `runner validate <pipeline.yaml>`: exit 0 when well formed, 2 with every diagnostic otherwise. */
import { Command, Flag } from "effect/cli"
import * as F from "../Flags.ts"
import { lazy } from "../Lazy.ts"

export const validate = Command.make(
  "validate",
  {
    pipeline: F.pipeline,
    input: F.input,
    format: Flag.Literals("format", ["text", "json"]).pipe(
      Flag.withDescription(
        "output: text, or json ({ ok, file, steps } when valid; { ok: false, error: { diagnostics } } when not)"
      ),
      Flag.withDefault("text")
    )
  },
  (flags) =>
    lazy(
      () => import("../handlers/validate.ts"),
      (m) => m.handle(flags)
    )
).pipe(
  Command.withDescription(
    "check a pipeline (schema and semantics together); every problem as file:line:col: message [rule], sorted by position"
  )
)
