/** A saved plan (`runner plan --out`): what it was made from, decoded before anything trusts it. */
import { readFileSync } from "node:fs"
import { resolve } from "node:path"
import { sha256 } from "@tollgate/core/Fingerprint"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import type { InputOverride } from "../dsl/Inputs.ts"
import { InputInvalid } from "../Errors.ts"
import type { PlanHashes } from "./Hashes.ts"
import { FORMAT_VERSION } from "./PlanJson.ts"

const SavedPlanSchema = Schema.Struct({
  saved_plan: Schema.Struct({
    pipeline_path: Schema.String,
    inputs: Schema.Array(Schema.Struct({ name: Schema.String, raw: Schema.String }))
  }),
  hashes: Schema.Struct({
    pipeline: Schema.String,
    inputs: Schema.String,
    data: Schema.Record(Schema.String, Schema.String),
    prices: Schema.String
  })
})

export interface SavedPlan {
  readonly pipelinePath: string
  readonly inputs: ReadonlyArray<InputOverride>
  readonly hashes: PlanHashes
}

/**
 * Whether a file is a saved plan rather than a pipeline, by its content: a JSON object with
 * `saved_plan` (as `runner plan --out` writes). A pipeline written as JSON is a pipeline; a file
 * that cannot be read is left to the pipeline loader, which names it.
 */
export const isSavedPlanFile = (cwd: string, file: string): boolean => {
  if (!file.endsWith(".json")) return false
  try {
    const json: unknown = JSON.parse(readFileSync(resolve(cwd, file), "utf8"))
    return typeof json === "object" && json !== null && !Array.isArray(json) && "saved_plan" in json
  } catch {
    return false
  }
}

const invalid = (file: string, what: string) =>
  new InputInvalid({
    message: `${file}: ${what}; make a saved plan with \`runner plan <pipeline.yaml> --out ${file}\``
  })

/**
 * Whether the pipeline a saved plan names is still the one it was made from, checked by hash
 * before anything else is read: a saved plan (say, a pull request's) cannot make the runner
 * parse arbitrary files as a pipeline or load data files it names.
 */
export const pipelineUnchanged = (cwd: string, saved: SavedPlan): boolean => {
  try {
    return sha256(readFileSync(resolve(cwd, saved.pipelinePath), "utf8")) === saved.hashes.pipeline
  } catch {
    return false
  }
}

/** The saved plan at `file`, or `InputInvalid` naming the file and what is wrong. */
export const readSavedPlan = (cwd: string, file: string): Effect.Effect<SavedPlan, InputInvalid> =>
  Effect.gen(function* () {
    const text = yield* Effect.try({
      try: () => readFileSync(resolve(cwd, file), "utf8"),
      catch: (e) =>
        invalid(
          file,
          (e as NodeJS.ErrnoException).code === "ENOENT"
            ? "no such file"
            : `cannot read it (${(e as Error).message})`
        )
    })
    const json = yield* Effect.try({
      try: (): unknown => JSON.parse(text),
      catch: () => invalid(file, "not JSON")
    })
    const version = (json as { format_version?: unknown } | null)?.format_version
    if (version !== FORMAT_VERSION)
      return yield* invalid(
        file,
        version === undefined
          ? "not a saved plan (no format_version)"
          : `format_version ${JSON.stringify(version)} is not ${FORMAT_VERSION}, the version this runner reads`
      )
    const decoded = Schema.decodeUnknownExit(SavedPlanSchema)(json)
    if (Exit.isFailure(decoded)) return yield* invalid(file, "not a saved plan (no saved_plan and hashes)")
    const v = decoded.value
    return { pipelinePath: v.saved_plan.pipeline_path, inputs: v.saved_plan.inputs, hashes: v.hashes }
  })
