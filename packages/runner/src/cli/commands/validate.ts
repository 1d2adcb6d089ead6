/** `runner validate <pipeline.yaml>`: exit 0 when well formed, 2 with every diagnostic otherwise. */
import { Effect } from "effect"
import { Command } from "effect/cli"
import { mainLayer } from "../../MainLayer.ts"
import { validatePipeline } from "../../plan/Plan.ts"
import { input, parseInputs, pipeline } from "../Flags.ts"
import { Io } from "../Io.ts"

export const validate = Command.make(
  "validate",
  { pipeline, input },
  Effect.fnUntraced(function* (flags) {
    const io = yield* Io
    const inputs = yield* parseInputs(flags.input)
    const v = yield* validatePipeline(flags.pipeline, { cwd: io.cwd, inputs }).pipe(
      Effect.provide(mainLayer({ env: io.env }))
    )
    const n = v.pipeline.steps.length
    io.out(`${v.display}: ok (${n} step${n === 1 ? "" : "s"})\n`)
  })
).pipe(
  Command.withDescription(
    "check a pipeline (schema and semantics); every problem as file:line:col: message [rule]"
  )
)
