/** `runner validate <pipeline.yaml>`: exit 0 when well formed, 2 with every diagnostic otherwise. */
import * as Effect from "effect/Effect"
import { mainLayer } from "../../MainLayer.ts"
import { validatePipeline } from "../../plan/ValidPipeline.ts"
import { edgeSettings } from "../EdgeSettings.ts"
import { Io } from "../Io.ts"
import { parseInputs } from "./Parse.ts"

export interface ValidateFlags {
  readonly pipeline: string
  readonly input: ReadonlyArray<string>
  readonly format: "text" | "json"
}

export const handle = Effect.fn("runner validate")(function* (flags: ValidateFlags) {
  const io = yield* Io
  const inputs = yield* parseInputs(flags.input)
  const v = yield* validatePipeline(flags.pipeline, { cwd: io.cwd, inputs }).pipe(
    Effect.provide(mainLayer({ settings: yield* edgeSettings }))
  )
  const n = v.pipeline.steps.length
  if (flags.format === "json")
    return io.out(`${JSON.stringify({ ok: true, file: v.display, steps: n, diagnostics: [] }, null, 2)}\n`)
  io.out(`${v.display}: ok (${n} step${n === 1 ? "" : "s"})\n`)
})
