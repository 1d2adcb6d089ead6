/**
 * `@tollgate/runner` as a library: load, validate, plan and run pipelines from code. Each is an
 * Effect value; `Promises` has the same functions for callers that do not use Effect.
 */
import { type Catalog, CatalogStore, StateDir } from "@tollgate/pricing"
import { Effect, Schema } from "effect"
import { type Diagnostic, render } from "./Diagnostics.ts"
import type { InputOverride } from "./Inputs.ts"
import { type PlanJson, type Planned, planJson, planValidated } from "./Plan.ts"
import { type RunResult, runFile } from "./Run.ts"
import { StoreUnavailable } from "./Stores.ts"
import { type Validated, validateFile } from "./Validate.ts"

export { main } from "./Cli.ts"
export type { Diagnostic } from "./Diagnostics.ts"
export type { Io } from "./Io.ts"
export type { PlanJson, Planned } from "./Plan.ts"
export type { RunResult, RunSummary } from "./Run.ts"
export type { Validated } from "./Validate.ts"
export { StoreUnavailable }

/** A pipeline that does not validate: every diagnostic, `file:line:col: message [rule]`. */
export class PipelineInvalid extends Schema.TaggedError<PipelineInvalid>()("PipelineInvalid", {
  message: Schema.String,
  diagnostics: Schema.Array(Schema.Any)
}) {}

export interface Options {
  /** Where relative paths resolve (default: `process.cwd()`). */
  readonly cwd?: string
  /** Environment for the API key, state dir and such (default: `process.env`). */
  readonly env?: NodeJS.ProcessEnv
  /** The catalog (default: the state dir's refreshed copy, else the bundled snapshot). */
  readonly catalog?: Catalog.Catalog
  /** Input values by name; `@path` reads a data file. */
  readonly inputs?: Readonly<Record<string, string>>
}

export interface RunOptions extends Options {
  /** Overrides `provider.base_url` (`echo:` answers locally). */
  readonly baseUrl?: string
  readonly maxCostUsd?: number
  readonly noCache?: boolean
  readonly offline?: boolean
  readonly concurrency?: number
  readonly outDir?: string
  /** `redis://…`: share limits, ledger and cache with other runs and machines. */
  readonly store?: string
  readonly onEvent?: (e: Record<string, unknown>) => void
}

const resolved = (o: Options) => {
  const env = o.env ?? process.env
  return {
    cwd: o.cwd ?? process.cwd(),
    env,
    inputs: Object.entries(o.inputs ?? {}).map(([name, raw]): InputOverride => ({ name, raw })),
    catalog:
      o.catalog !== undefined
        ? Effect.succeed(o.catalog)
        : CatalogStore.CatalogStore.make(StateDir.stateDir(env)).current
  }
}

/** Loads and validates a pipeline; fails with `PipelineInvalid` listing every problem. */
export const loadPipeline = (
  file: string,
  options: Options = {}
): Effect.Effect<Validated, PipelineInvalid> =>
  Effect.gen(function* () {
    const o = resolved(options)
    const catalog = yield* o.catalog
    const result = validateFile(file, { cwd: o.cwd, catalog, inputs: o.inputs })
    if (!result.ok)
      return yield* new PipelineInvalid({
        message: render(result.diagnostics).trimEnd(),
        diagnostics: [...result.diagnostics]
      })
    return result.value
  })

/** Every diagnostic of a pipeline (empty when it is well formed). */
export const validate = (file: string, options: Options = {}): Effect.Effect<ReadonlyArray<Diagnostic>> =>
  loadPipeline(file, options).pipe(
    Effect.as([] as ReadonlyArray<Diagnostic>),
    Effect.catchTag("PipelineInvalid", (e) => Effect.succeed(e.diagnostics as ReadonlyArray<Diagnostic>))
  )

/** The dry run: requests, tokens, cost, time, quota and gate violations. Sends nothing. */
export const plan = (
  file: string,
  options: Options & { readonly maxCostUsd?: number; readonly store?: string } = {}
): Effect.Effect<PlanJson, PipelineInvalid | StoreUnavailable> =>
  Effect.gen(function* () {
    const o = resolved(options)
    const catalog = yield* o.catalog
    const v = yield* loadPipeline(file, { ...options, catalog })
    const planned: Planned = yield* planValidated(v, {
      cwd: o.cwd,
      env: o.env,
      catalog,
      maxCostUsd: options.maxCostUsd,
      store: options.store
    })
    return planJson(planned)
  })

/** Plans, gates and runs; the result says which (invalid, refused, gated, ran) with the summary. */
export const run = (file: string, options: RunOptions = {}): Effect.Effect<RunResult> =>
  Effect.gen(function* () {
    const o = resolved(options)
    const catalog = yield* o.catalog
    return yield* runFile(file, {
      cwd: o.cwd,
      env: o.env,
      catalog,
      inputs: o.inputs,
      baseUrl: options.baseUrl,
      maxCostUsd: options.maxCostUsd,
      noCache: options.noCache ?? false,
      offline: options.offline ?? false,
      concurrency: options.concurrency,
      outDir: options.outDir,
      store: options.store,
      ...(options.onEvent ? { onEvent: options.onEvent } : {})
    })
  })

/** The same functions as Promises, for code that does not use Effect. */
export const Promises = {
  loadPipeline: (file: string, options?: Options) => Effect.runPromise(loadPipeline(file, options)),
  validate: (file: string, options?: Options) => Effect.runPromise(validate(file, options)),
  plan: (file: string, options?: Options & { readonly maxCostUsd?: number }) =>
    Effect.runPromise(plan(file, options)),
  run: (file: string, options?: RunOptions) => Effect.runPromise(run(file, options))
}
