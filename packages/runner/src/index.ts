/**
 * `@tollgate/runner` as a library: load, validate, plan and run pipelines from code. Each is an
 * Effect that needs nothing (its services are built from the options by `mainLayer`);
 * `Promises` has the same functions for callers that do not use Effect.
 *
 * One convention for both: bad input (an invalid pipeline, a bad saved plan or input file, an
 * unreachable store, a damaged state file) is a failure, a typed `RunnerError` (a rejection in
 * `Promises`), and nothing was sent; the outcome of a valid pipeline is a value: a plan with
 * `ok: false` over a limit, a run that was `gated`, or one that `ran` (with its status).
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import type * as Catalog from "@tollgate/pricing/Catalog"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Diagnostic } from "./dsl/Diagnostics.ts"
import type { InputOverride } from "./dsl/Inputs.ts"
import type { Validated } from "./dsl/ValidateFile.ts"
import type { RunnerError } from "./Errors.ts"
import { type MainOptions, mainLayer } from "./MainLayer.ts"
import { planPipelineOrSaved } from "./plan/PlanFile.ts"
import { type PlanJson, planJson } from "./plan/PlanJson.ts"
import { validatePipeline } from "./plan/ValidPipeline.ts"
import { keyVariablesOf } from "./providers/KeyRoute.ts"
import type { RunEvent } from "./run/Events.ts"
import { type RunResult, runFile } from "./run/RunPipeline.ts"
import { settingsOf } from "./Settings.ts"

export type { Diagnostic } from "./dsl/Diagnostics.ts"
export type { Validated } from "./dsl/ValidateFile.ts"
export {
  InputInvalid,
  PipelineInvalid,
  RunBusy,
  type RunnerError,
  StateDamaged,
  StoreUnavailable
} from "./Errors.ts"
export type { PlanJson } from "./plan/PlanJson.ts"
export type { RunEvent } from "./run/Events.ts"
export type { RunResult } from "./run/RunPipeline.ts"
export type { RunSummary } from "./run/Summary.ts"

export interface Options {
  /** Where relative paths resolve (default: `process.cwd()`). */
  readonly cwd?: string
  /** Environment for the API key, state dir and such (default: `process.env`). */
  readonly env?: NodeJS.ProcessEnv
  /** The catalog (default: the state dir's refreshed copy, else the bundled snapshot). */
  readonly catalog?: Catalog.Catalog
  /** Input values by name; `@path` reads a data file. */
  readonly inputs?: Readonly<Record<string, string>>
  /** `redis://…`: share limits, ledger, cache and budget pools with other runs and machines. */
  readonly store?: string
}

export interface PlanOptions extends Options {
  /** Tightens `budget.max_cost_usd`. */
  readonly maxCostUsd?: number
  readonly noCache?: boolean
}

export interface RunOptions extends PlanOptions {
  /** Overrides `provider.base_url` (`echo:` answers locally). */
  readonly baseUrl?: string
  readonly offline?: boolean
  readonly concurrency?: number
  readonly outDir?: string
  readonly onEvent?: (e: RunEvent) => void
  /** Completes when the run should stop: no new requests, those in flight settle. */
  readonly interrupted?: Effect.Effect<void>
}

const resolved = (o: Options) => ({
  cwd: o.cwd ?? process.cwd(),
  keys: keyVariablesOf(o.env ?? process.env),
  inputs: Object.entries(o.inputs ?? {}).map(([name, raw]): InputOverride => ({ name, raw }))
})

/** The services, over the settings the environment holds (read once, through `Config`). */
const layerOf = (o: Options & { readonly offline?: boolean }) =>
  Layer.unwrap(
    Effect.map(settingsOf(o.env ?? process.env), (settings) =>
      mainLayer({ settings, store: o.store, offline: o.offline, catalog: o.catalog } satisfies MainOptions)
    )
  ).pipe(Layer.provideMerge(NodeFileSystem.layer))

/** Loads and validates a pipeline; fails with `PipelineInvalid` listing every problem. */
export const loadPipeline = (file: string, options: Options = {}): Effect.Effect<Validated, RunnerError> =>
  validatePipeline(file, resolved(options)).pipe(Effect.provide(layerOf(options)))

/** Every diagnostic of a pipeline (empty when it is well formed). */
export const validate = (
  file: string,
  options: Options = {}
): Effect.Effect<ReadonlyArray<Diagnostic>, RunnerError> =>
  loadPipeline(file, options).pipe(
    Effect.as([] as ReadonlyArray<Diagnostic>),
    Effect.catchTag("PipelineInvalid", (e) => Effect.succeed(e.diagnostics))
  )

/** The dry run: requests, tokens, cost, time, quota and gate violations (`ok: false`). Sends nothing. */
export const plan = (file: string, options: PlanOptions = {}): Effect.Effect<PlanJson, RunnerError> =>
  planPipelineOrSaved(file, {
    ...resolved(options),
    maxCostUsd: options.maxCostUsd,
    noCache: options.noCache
  }).pipe(
    Effect.map(({ planned }) => planJson(planned)),
    Effect.provide(layerOf(options))
  )

/** Plans, gates and runs: `gated` (nothing sent) or `ran` with the summary and its exit code. */
export const run = (file: string, options: RunOptions = {}): Effect.Effect<RunResult, RunnerError> =>
  runFile(file, { ...options, ...resolved(options) }).pipe(Effect.provide(layerOf(options)))

/** The same functions as Promises, for code that does not use Effect; a `RunnerError` rejects. */
export const Promises = {
  loadPipeline: (file: string, options?: Options) => Effect.runPromise(loadPipeline(file, options)),
  validate: (file: string, options?: Options) => Effect.runPromise(validate(file, options)),
  plan: (file: string, options?: PlanOptions) => Effect.runPromise(plan(file, options)),
  run: (file: string, options?: RunOptions) => Effect.runPromise(run(file, options))
}
