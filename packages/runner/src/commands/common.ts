/** Pieces the plan and run commands share. */
import { Effect, References } from "effect"
import { ExitError } from "../Io.ts"
import { type PlanOptions, type PlanResult, planFile } from "../Plan.ts"
import type { StoreUnavailable } from "../Stores.ts"

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
