/** The checks that turn the shared flags' text into typed options, or `InputInvalid` naming the flag. */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { parseDeadline } from "../../dsl/Deadline.ts"
import type { InputOverride } from "../../dsl/Inputs.ts"
import { parseDuration } from "../../dsl/Pipeline.ts"
import { baseUrlProblem } from "../../dsl/rules/Settings.ts"
import { InputInvalid } from "../../Errors.ts"
import { type Policy, parsePolicy } from "../../plan/PlanDiff.ts"
import { BASE_URL_ENV } from "../../providers/KeyRoute.ts"
import type { SettingsShape } from "../../Settings.ts"
import { checkStoreUrl } from "../../store/StoreUrl.ts"

/** `--input NAME=VALUE` (repeatable; `NAME=@file` reads a data file). */
export const parseInputs = (raw: ReadonlyArray<string>): Effect.Effect<InputOverride[], InputInvalid> =>
  Effect.forEach(raw, (text) => {
    const eq = text.indexOf("=")
    return eq <= 0
      ? Effect.fail(new InputInvalid({ message: `--input ${text}: expected NAME=VALUE or NAME=@file.jsonl` }))
      : Effect.succeed({ name: text.slice(0, eq), raw: text.slice(eq + 1) })
  })

/** An amount in USD such as 0.50. */
export const parseUsd = (
  flag: string,
  text: Option.Option<string>
): Effect.Effect<number | undefined, InputInvalid> => {
  if (Option.isNone(text)) return Effect.succeed(undefined)
  const n = Number(text.value)
  return /^\d+(\.\d+)?$/.test(text.value.trim()) && Number.isFinite(n)
    ? Effect.succeed(n)
    : Effect.fail(
        new InputInvalid({
          message: `--${flag}: expected an amount in USD such as 0.50, got "${text.value}"`
        })
      )
}

/** `--store URL`, else `$TOLLGATE_STORE`; checked, never printed with its password. */
export const parseStore = (
  flag: Option.Option<string>,
  settings: Pick<SettingsShape, "store">
): Effect.Effect<string | undefined, InputInvalid> => {
  const url = Option.getOrUndefined(flag) ?? settings.store
  if (url === undefined) return Effect.succeed(undefined)
  const problem = checkStoreUrl(url)
  return problem === undefined ? Effect.succeed(url) : Effect.fail(new InputInvalid({ message: problem }))
}

/** `--fail-on-increase 10%|0.50` with `--fail-on`, or `InputInvalid` naming the flag. */
export const parseFailOn = (
  text: Option.Option<string>,
  on: "expected" | "max"
): Effect.Effect<Policy | undefined, InputInvalid> => {
  if (Option.isNone(text)) return Effect.succeed(undefined)
  const policy = parsePolicy(text.value, on)
  return policy !== undefined
    ? Effect.succeed(policy)
    : Effect.fail(
        new InputInvalid({
          message: `--fail-on-increase: expected a percentage (10%) or an amount in USD (0.50), got "${text.value}"`
        })
      )
}

/** A duration flag (`30s`, `2m`, `500ms`), or `InputInvalid` naming it. */
export const parseDurationFlag = (
  flag: string,
  text: Option.Option<string>
): Effect.Effect<number | undefined, InputInvalid> => {
  if (Option.isNone(text)) return Effect.succeed(undefined)
  const ms = parseDuration(text.value.trim())
  return ms !== undefined
    ? Effect.succeed(ms)
    : Effect.fail(
        new InputInvalid({ message: `--${flag}: expected a duration such as 30s or 2m, got "${text.value}"` })
      )
}

/** A whole number from `min` to `max`, or `InputInvalid` naming the flag. */
export const parseWhole = (
  flag: string,
  text: Option.Option<string>,
  range: { readonly min: number; readonly max: number; readonly what: string }
): Effect.Effect<number | undefined, InputInvalid> => {
  if (Option.isNone(text)) return Effect.succeed(undefined)
  const t = text.value.trim()
  const n = Number(t)
  return /^\d+$/.test(t) && n >= range.min && n <= range.max
    ? Effect.succeed(n)
    : Effect.fail(
        new InputInvalid({
          message: `--${flag}: expected ${range.what} from ${range.min} to ${range.max}, got "${text.value}"`
        })
      )
}

/**
 * `--base-url URL`, else `$TOLLGATE_BASE_URL`: an http(s) endpoint or `echo:`, given by the user
 * (so a key may go there: `providers/KeyRoute.ts`).
 */
export const parseBaseUrl = (
  flag: Option.Option<string>,
  settings: Pick<SettingsShape, "baseUrl">
): Effect.Effect<string | undefined, InputInvalid> => {
  const fromEnv = settings.baseUrl
  const url = Option.getOrUndefined(flag) ?? fromEnv
  if (url === undefined) return Effect.succeed(undefined)
  const problem = baseUrlProblem(url)
  const name = Option.isSome(flag) ? "--base-url" : BASE_URL_ENV
  return problem === undefined
    ? Effect.succeed(url)
    : Effect.fail(new InputInvalid({ message: `${name} ${problem}` }))
}

/** The flags plan and run share, checked: inputs, `--max-cost`, `--store`, `--base-url`. */
export const parsePlanFlags = Effect.fnUntraced(function* (
  flags: {
    readonly input: ReadonlyArray<string>
    readonly maxCost: Option.Option<string>
    readonly store: Option.Option<string>
    readonly baseUrl: Option.Option<string>
    readonly deadline: Option.Option<string>
  },
  settings: SettingsShape
) {
  return {
    inputs: yield* parseInputs(flags.input),
    deadline: yield* parseDeadlineFlag(flags.deadline),
    maxCostUsd: yield* parseUsd("max-cost", flags.maxCost),
    store: yield* parseStore(flags.store, settings),
    baseUrl: yield* parseBaseUrl(flags.baseUrl, settings)
  }
})

/** `--deadline WHEN`: an instant with its zone, or a duration (checked here; planned from the run's start). */
export const parseDeadlineFlag = (
  flag: Option.Option<string>
): Effect.Effect<string | undefined, InputInvalid> => {
  if (Option.isNone(flag)) return Effect.succeed(undefined)
  return parseDeadline(flag.value, 0) === undefined
    ? Effect.fail(
        new InputInvalid({
          message: `--deadline: expected an instant with its zone (2026-12-05T09:00Z) or a duration (36h, 2d), got "${flag.value}"`
        })
      )
    : Effect.succeed(flag.value)
}

/** `--out-dir DIR`: a folder name, not an empty string (which would write records into the working dir). */
export const parseOutDir = (flag: Option.Option<string>): Effect.Effect<string | undefined, InputInvalid> => {
  if (Option.isNone(flag)) return Effect.succeed(undefined)
  return flag.value.trim() === ""
    ? Effect.fail(new InputInvalid({ message: "--out-dir: expected a folder, got an empty string" }))
    : Effect.succeed(flag.value)
}
