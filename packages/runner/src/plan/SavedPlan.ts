/**
 * A saved plan (`runner plan --out`): the plan's JSON with what it was made from, written here
 * and read back here, decoded before anything trusts it; and any plan JSON read for a diff.
 */
import { resolve } from "node:path"
import * as Files from "@tollgate/core/Files"
import { sha256 } from "@tollgate/core/Fingerprint"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FileSystem from "effect/FileSystem"
import * as Schema from "effect/Schema"
import type { InputOverride } from "../dsl/Inputs.ts"
import { InputInvalid } from "../Errors.ts"
import type { PlanHashes } from "./PlanHashes.ts"
import { FORMAT_VERSION, type PlanJson } from "./PlanJson.ts"

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
 * A file's JSON when it is a saved plan rather than a pipeline, told by its content whatever its
 * name: a JSON object with `saved_plan` (as `runner plan --out` writes). A pipeline written as
 * JSON is a pipeline; a file that cannot be read is left to the pipeline loader, which names it.
 */
const savedPlanJson = (
  cwd: string,
  file: string
): Effect.Effect<object | undefined, never, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = resolve(cwd, file)
    // only a regular file of a plan's size is read: a FIFO, a device or a data dump is left to the loader
    const info = yield* fs.stat(path)
    if (info.type !== "File" || Number(info.size) > MAX_SAVED_PLAN_BYTES) return undefined
    const text = yield* fs.readFileString(path)
    // a YAML pipeline is told apart without parsing it as JSON
    if (!text.trimStart().startsWith("{")) return undefined
    try {
      const json: unknown = JSON.parse(text)
      return typeof json === "object" && json !== null && !Array.isArray(json) && "saved_plan" in json
        ? json
        : undefined
    } catch {
      return undefined
    }
  }).pipe(Effect.orElseSucceed(() => undefined))

/** The largest file read to tell whether it is a saved plan (a plan is per step, not per item: far smaller). */
const MAX_SAVED_PLAN_BYTES = 64 * 1024 * 1024

/** What to plan for `file`: the file itself, or the pipeline a saved plan names, with its inputs. */
export interface PlanTarget {
  readonly file: string
  readonly inputs: ReadonlyArray<InputOverride>
  /** The saved plan `file` is, if it is one. */
  readonly saved: SavedPlan | undefined
}

/**
 * The pipeline `file` stands for (`plan` and `run` alike): itself, or the one a saved plan names,
 * refused when that pipeline changed since (a saved plan, say a pull request's, never makes the
 * runner read another file as a pipeline).
 */
export const planTarget = Effect.fnUntraced(function* (
  cwd: string,
  file: string,
  inputs: ReadonlyArray<InputOverride> | undefined
) {
  // read once: told apart, then decoded
  const json = yield* savedPlanJson(cwd, file)
  if (json === undefined)
    return { file, inputs: inputs ?? [], saved: undefined } satisfies PlanTarget as PlanTarget
  const saved = yield* decodeSavedPlan(file, json)
  if (yield* pipelineUnchanged(cwd, saved))
    return { file: saved.pipelinePath, inputs: saved.inputs, saved } satisfies PlanTarget as PlanTarget
  return yield* new InputInvalid({
    message: `the saved plan ${file} is stale: the pipeline changed (or is gone) since it was made; run \`runner plan --out\` again`
  })
})

/** A saved plan's text: the plan, and the pipeline and inputs it was made from. */
export const savedPlanText = (
  plan: PlanJson,
  pipelinePath: string,
  inputs: ReadonlyArray<InputOverride>
): string => `${JSON.stringify({ ...plan, saved_plan: { pipeline_path: pipelinePath, inputs } }, null, 2)}\n`

/** Saves a plan (`runner plan --out`) at `path`, whole or not at all. */
export const writeSavedPlan = (
  path: string,
  plan: PlanJson,
  pipelinePath: string,
  inputs: ReadonlyArray<InputOverride>
) => Files.writeAtomic(path, savedPlanText(plan, pipelinePath, inputs))

const invalid = (file: string, what: string) =>
  new InputInvalid({
    message: `${file}: ${what}; make a saved plan with \`runner plan <pipeline.yaml> --out ${file}\``
  })

/**
 * Whether the pipeline a saved plan names is still the one it was made from, checked by hash
 * before anything else is read: a saved plan (say, a pull request's) cannot make the runner
 * parse arbitrary files as a pipeline or load data files it names.
 */
export const pipelineUnchanged = (
  cwd: string,
  saved: SavedPlan
): Effect.Effect<boolean, never, FileSystem.FileSystem> =>
  Files.readTextIfAny(resolve(cwd, saved.pipelinePath)).pipe(
    Effect.map((text) => text !== undefined && sha256(text) === saved.hashes.pipeline),
    Effect.orElseSucceed(() => false)
  )

/** A plan file's JSON at the version this runner reads, or `InputInvalid` naming the file. */
const readPlanJson = Effect.fn("SavedPlan.readPlanJson")(function* (cwd: string, file: string, what: string) {
  const text = yield* Files.readTextIfAny(resolve(cwd, file)).pipe(
    Effect.mapError((e) => invalid(file, `cannot read it (${e.message})`))
  )
  if (text === undefined) return yield* invalid(file, "no such file")
  const json = yield* Effect.try({
    try: (): unknown => JSON.parse(text),
    catch: () => invalid(file, "not JSON")
  })
  return yield* atOurVersion(file, json, what)
})

/** A plan's JSON when it is at the version this runner reads, or `InputInvalid` naming the file. */
const atOurVersion = (file: string, json: unknown, what: string): Effect.Effect<unknown, InputInvalid> => {
  const version = (json as { format_version?: unknown } | null)?.format_version
  if (version !== FORMAT_VERSION)
    return invalid(
      file,
      version === undefined
        ? `not ${what} (no format_version)`
        : `format_version ${JSON.stringify(version)} is not ${FORMAT_VERSION}, the version this runner reads (made by another version of the runner: plan it again with this one)`
    )
  return Effect.succeed(json)
}

/** The saved plan `file` holds (its JSON as read), or `InputInvalid` naming the file and what is wrong. */
const decodeSavedPlan = Effect.fn("SavedPlan.decode")(function* (file: string, read: object) {
  const json = yield* atOurVersion(file, read, "a saved plan")
  const decoded = Schema.decodeUnknownExit(SavedPlanSchema)(json)
  if (Exit.isFailure(decoded)) return yield* invalid(file, "not a saved plan (no saved_plan and hashes)")
  const v = decoded.value
  return { pipelinePath: v.saved_plan.pipeline_path, inputs: v.saved_plan.inputs, hashes: v.hashes }
})

export const Cost = Schema.Struct({ expected: Schema.Number, p90: Schema.Number, max: Schema.Number })
const Price = Schema.NullOr(Schema.Number)
/** A plan's step as a diff or a report reads it. */
export const PlanStep = Schema.Struct({
  id: Schema.String,
  model: Schema.Union([Schema.String, Schema.Array(Schema.String)]),
  free: Schema.Boolean,
  skipped: Schema.optionalKey(Schema.Boolean),
  requests: Schema.Number,
  items: Schema.optionalKey(Schema.Number),
  cached: Schema.Number,
  tokens: Schema.Struct({
    prompt: Schema.Struct({ expected: Schema.Number, max: Schema.Number }),
    completion: Schema.Struct({ expected: Schema.Number, p90: Schema.Number, max: Schema.Number })
  }),
  cost_usd: Cost,
  definition: Schema.optionalKey(
    Schema.Struct({
      prompt_hash: Schema.String,
      max_tokens: Schema.Number,
      pack: Schema.Number,
      price_per_million: Schema.Struct({ prompt: Price, completion: Price })
    })
  )
})

/** What a diff reads of a plan: the fields it compares, decoded. */
export const PlanForDiff = Schema.Struct({
  format_version: Schema.Number,
  pipeline: Schema.Struct({ name: Schema.String, file: Schema.String }),
  requests: Schema.Struct({ max: Schema.Number }),
  free_requests: Schema.Number,
  cost_usd: Cost,
  quota: Schema.Struct({
    days: Schema.Array(Schema.Struct({ date: Schema.String, free_requests: Schema.Number }))
  }),
  steps: Schema.Array(PlanStep)
})
export type PlanForDiff = typeof PlanForDiff.Type

/** What a report reads of a plan: a diff's fields, and the gates, days and time. */
export const PlanForReport = Schema.Struct({
  ...PlanForDiff.fields,
  ok: Schema.Boolean,
  requests: Schema.Struct({ expected: Schema.Number, max: Schema.Number, cached: Schema.Number }),
  min_duration_s: Schema.Number,
  quota: Schema.Struct({
    free_per_day: Schema.optionalKey(Schema.NullOr(Schema.Number)),
    days: Schema.Array(Schema.Struct({ date: Schema.String, free_requests: Schema.Number }))
  }),
  budget: Schema.Struct({ max_cost_usd: Schema.NullOr(Schema.Number) }),
  violations: Schema.Array(Schema.Struct({ kind: Schema.String, message: Schema.String })),
  catalog: Schema.optionalKey(Schema.Struct({ label: Schema.String })),
  deadline: Schema.optionalKey(
    Schema.Struct({
      at: Schema.String,
      steps: Schema.Array(
        Schema.Struct({
          id: Schema.String,
          paid_model: Schema.String,
          free_requests: Schema.Number,
          paid_requests: Schema.Number,
          free_by_day: Schema.Array(Schema.Struct({ date: Schema.String, free_requests: Schema.Number })),
          paid_cost_usd: Cost
        })
      ),
      alternatives: Schema.Struct({
        free_only: Schema.Struct({
          days: Schema.Number,
          last_day: Schema.NullOr(Schema.String),
          meets_deadline: Schema.Boolean
        }),
        with_overflow: Schema.Struct({ cost_usd: Cost }),
        all_paid: Schema.Struct({ cost_usd: Cost })
      })
    })
  )
})
export type PlanForReport = typeof PlanForReport.Type

/** A plan (`runner plan --out`, or `--format json`) decoded by `schema`, or `InputInvalid` naming the file. */
export const readPlanWith =
  <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S) =>
  (cwd: string, file: string): Effect.Effect<S["Type"], InputInvalid, FileSystem.FileSystem> =>
    Effect.flatMap(readPlanJson(cwd, file, "a plan"), (json) => {
      const decoded = Schema.decodeUnknownExit(schema)(json)
      return Exit.isSuccess(decoded)
        ? Effect.succeed(decoded.value)
        : Effect.fail(
            new InputInvalid({
              message: `${file}: not a plan (${String(decoded.cause).split("\n")[0]}); make one with \`runner plan <pipeline.yaml> --out ${file}\``
            })
          )
    })

/** A plan for a diff. */
export const readPlanForDiff: (
  cwd: string,
  file: string
) => Effect.Effect<PlanForDiff, InputInvalid, FileSystem.FileSystem> = readPlanWith(PlanForDiff)
