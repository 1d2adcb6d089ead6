/**
 * The environment's settings as a command line reads them: once, through `Config`
 * (`Settings.ts`), the first time a command asks; every later ask in the same command line gets
 * the same values. `Cli.ts` provides it from the `Io`'s environment.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type { InputInvalid } from "../Errors.ts"
import { type SettingsShape, settingsOf } from "../Settings.ts"
import { Io } from "./Io.ts"

export class EdgeSettings extends Context.Service<EdgeSettings, Effect.Effect<SettingsShape, InputInvalid>>()(
  "@tollgate/runner/cli/EdgeSettings"
) {}

/** The settings, read once per command line (a value of the wrong type is exit 2 naming the variable). */
export const edgeSettings: Effect.Effect<SettingsShape, InputInvalid, EdgeSettings> =
  Effect.flatten(EdgeSettings)

/** Provides `EdgeSettings` over the `Io`'s environment, read at most once. */
export const provideEdgeSettings = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const io = yield* Io
    const once = yield* Effect.cached(settingsOf(io.env))
    return yield* Effect.provideService(effect, EdgeSettings, once)
  })
