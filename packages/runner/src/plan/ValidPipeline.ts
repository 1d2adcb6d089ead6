/** Validation as the commands and the library use it: the catalog in use, and diagnostics as `PipelineInvalid`. */
import * as Effect from "effect/Effect"
import type { InputOverride } from "../dsl/Inputs.ts"
import type { ProviderKind } from "../dsl/Pipeline.ts"
import { validateFile } from "../dsl/ValidateFile.ts"
import { PipelineInvalid } from "../Errors.ts"
import { CurrentCatalog } from "../store/CurrentCatalog.ts"

/** Validates a pipeline file: the `Validated` pipeline, or `PipelineInvalid` with every diagnostic. */
export const validatePipeline = Effect.fn("ValidPipeline.validate")(function* (
  file: string,
  opts: {
    readonly cwd: string
    readonly inputs?: ReadonlyArray<InputOverride> | undefined
    readonly providerKind?: ProviderKind | undefined
  }
) {
  const result = yield* validateFile(file, {
    cwd: opts.cwd,
    catalog: yield* CurrentCatalog,
    inputs: opts.inputs ?? [],
    providerKind: opts.providerKind
  })
  if (result.ok) return result.value
  const n = result.diagnostics.length
  return yield* PipelineInvalid.fromDiagnostics(
    result.diagnostics,
    result.sources,
    `${n} problem${n === 1 ? "" : "s"}; nothing was sent`
  )
})
