/** Pieces the plan and run commands share. */

import type { Catalog } from "@tollgate/pricing"
import { Effect, References } from "effect"
import type { InputOverride } from "../Inputs.ts"
import type { Io } from "../Io.ts"
import { ExitError } from "../Io.ts"
import { type PlanOptions, type PlanResult, planFile } from "../Plan.ts"
import type { StoreUnavailable } from "../Stores.ts"

/** The flags plan and run share. */
export interface PlanFlags {
  readonly inputs: ReadonlyArray<InputOverride>
  readonly baseUrl: string | undefined
  readonly maxCostUsd: number | undefined
  readonly noCache: boolean
  readonly store: string | undefined
}

/** Plan options from the process and the shared flags. */
export const planOptionsOf = (io: Io, catalog: Catalog.Catalog, flags: PlanFlags): PlanOptions => ({
  cwd: io.cwd,
  env: io.env,
  catalog,
  inputs: flags.inputs,
  baseUrl: flags.baseUrl,
  maxCostUsd: flags.maxCostUsd,
  noCache: flags.noCache,
  store: flags.store
})

/** Plans a file; an unreachable store is a runtime failure (exit 1) with its message. */
export const planOrExit = (file: string, opts: PlanOptions): Promise<PlanResult> =>
  runStoreEffect(planFile(file, opts))

/** Runs an effect that may find the store unreachable: that becomes exit 1 with its message. */
export const runStoreEffect = <A>(effect: Effect.Effect<A, StoreUnavailable>): Promise<A> =>
  Effect.runPromise(
    effect.pipe(
      Effect.catchTag("StoreUnavailable", (e) => Effect.die(new ExitError(1, e.message))),
      quiet
    )
  ).catch((e) => {
    const cause = (e as { cause?: unknown }).cause
    throw cause instanceof ExitError ? cause : e
  })

/** The CLI prints its own messages: Effect's logger (e.g. a Redis client's warnings) stays quiet. */
export const quiet = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.provideService(effect, References.MinimumLogLevel, "None")
