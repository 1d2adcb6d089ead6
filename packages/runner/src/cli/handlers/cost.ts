/** `runner cost <model> --prompt-tokens N --completion-tokens M [...]`: one request's exact cost. */
import * as Catalog from "@tollgate/pricing/Catalog"
import * as Cost from "@tollgate/pricing/Cost"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import { InputInvalid } from "../../Errors.ts"
import { catalogFor } from "../../MainLayer.ts"
import { costJson, renderCost } from "../../report/CostReport.ts"
import { describeSource } from "../../report/Format.ts"
import { edgeSettings } from "../EdgeSettings.ts"
import type { Format } from "../Flags.ts"
import { Io } from "../Io.ts"
import * as F from "./Parse.ts"

/** Token counts above this are a typo, not a request (the largest context windows are ~2M). */
export const MAX_COUNT = 100_000_000

const parseCount = (flag: string, text: Option.Option<string>) =>
  F.parseWhole(flag, text, { min: 0, max: MAX_COUNT, what: "a whole number" })

const required = (flag: string, n: number | undefined) =>
  n !== undefined
    ? Effect.succeed(n)
    : Effect.fail(new InputInvalid({ message: `missing --${flag} N (a whole number of tokens)` }))

const isUserError = (e: unknown) =>
  e instanceof Catalog.UnknownModelError ||
  e instanceof Cost.UnknownPriceError ||
  e instanceof Cost.InvalidUsageError

const priced = (catalog: Catalog.Catalog, model: string, usage: Cost.Usage) =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    try {
      const resolved = catalog.resolveOrThrow(model)
      return Effect.succeed({ resolved, result: Cost.cost(resolved.model, usage, new Date(now)) })
    } catch (e) {
      if (isUserError(e)) return Effect.fail(new InputInvalid({ message: (e as Error).message }))
      throw e
    }
  })

export interface CostFlags {
  readonly model: string
  readonly promptTokens: Option.Option<string>
  readonly completionTokens: Option.Option<string>
  readonly reasoningTokens: Option.Option<string>
  readonly cachedTokens: Option.Option<string>
  readonly format: Format
}

export const handle = Effect.fn("runner cost")(function* (flags: CostFlags) {
  const io = yield* Io
  const usage: Cost.Usage = {
    promptTokens: yield* required("prompt-tokens", yield* parseCount("prompt-tokens", flags.promptTokens)),
    completionTokens: yield* required(
      "completion-tokens",
      yield* parseCount("completion-tokens", flags.completionTokens)
    ),
    reasoningTokens: yield* parseCount("reasoning-tokens", flags.reasoningTokens),
    cachedTokens: yield* parseCount("cached-tokens", flags.cachedTokens)
  }
  const settings = yield* edgeSettings
  const catalog = yield* catalogFor(settings)
  const { resolved, result } = yield* priced(catalog, flags.model, usage)
  if (flags.format === "json")
    io.out(`${JSON.stringify(costJson(catalog, resolved, usage, result), null, 2)}\n`)
  else {
    io.out(renderCost(resolved, result))
    io.err(`catalog: ${describeSource(catalog)}\n`)
  }
})
