/** What `runner plan` and the library plan: a pipeline file, or a saved plan (told by its content). */
import * as Effect from "effect/Effect"
import { type PlanOptions, planFile } from "./Plan.ts"
import { changesSince } from "./PlanHashes.ts"
import { planTarget } from "./SavedPlan.ts"

/**
 * Plans `file`: a pipeline, or a saved plan (told by its content), whose pipeline is planned
 * again with the inputs it was saved with; what changed since it was saved is said as a warning.
 */
export const planPipelineOrSaved = Effect.fnUntraced(function* (file: string, opts: PlanOptions) {
  const target = yield* planTarget(opts.cwd, file, opts.inputs)
  const planned = yield* planFile(target.file, { ...opts, inputs: target.inputs })
  const changed = target.saved === undefined ? [] : changesSince(target.saved.hashes, planned.hashes)
  const warnings =
    changed.length === 0
      ? planned.warnings
      : [
          ...planned.warnings,
          `${changed.join(", ")} changed since ${file} was saved: planned as they are now`
        ]
  return { planned: { ...planned, warnings }, inputs: target.inputs }
})
