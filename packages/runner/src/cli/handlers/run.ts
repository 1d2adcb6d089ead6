/** `runner run <pipeline.yaml | plan.json>`: gates, then executes; prints actual vs projected. */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import { InputInvalid } from "../../Errors.ts"
import { mainLayer } from "../../MainLayer.ts"
import { keyVariablesOf } from "../../providers/KeyRoute.ts"
import { renderSummary, renderSummaryMarkdown } from "../../report/RunReport.ts"
import { type RunResult, runFile } from "../../run/RunPipeline.ts"
import { parseShard } from "../../run/Shards.ts"
import { edgeSettings } from "../EdgeSettings.ts"
import { CommandExit } from "../Failures.ts"
import type { Format } from "../Flags.ts"
import { Io, type IoShape } from "../Io.ts"
import { Progress, TICK_MS } from "../Progress.ts"
import { writeJsonFile } from "./JsonFile.ts"
import * as F from "./Parse.ts"
import { printPlan } from "./plan.ts"

const printResult = (io: IoShape, result: RunResult, format: "table" | "json" | "markdown") => {
  if (result.kind === "gated") {
    printPlan(io, result.plan, format)
    return new CommandExit({ code: 3, message: "the plan is over a limit: nothing was sent" })
  }
  const s = result.summary
  io.out(
    format === "json"
      ? `${JSON.stringify(s, null, 2)}\n`
      : format === "markdown"
        ? renderSummaryMarkdown(s)
        : renderSummary(s)
  )
  if (result.exitCode === 0) return undefined
  return new CommandExit({
    code: result.exitCode,
    ...("reason" in s ? { message: `${s.status}: ${s.reason}` } : {})
  })
}

export interface RunFlags {
  readonly pipeline: string
  readonly input: ReadonlyArray<string>
  readonly format: Format
  readonly baseUrl: Option.Option<string>
  readonly providerKind: Option.Option<"openrouter" | "openai">
  readonly echo: boolean
  readonly maxCost: Option.Option<string>
  readonly deadline: Option.Option<string>
  readonly noCache: boolean
  readonly offline: boolean
  readonly concurrency: Option.Option<string>
  readonly outDir: Option.Option<string>
  readonly store: Option.Option<string>
  readonly shard: Option.Option<string>
  readonly untilDone: boolean
  readonly enforceBudget: Option.Option<"runner" | "provider">
  readonly settle: "auto" | "on" | "off"
  readonly jsonFile: Option.Option<string>
  readonly settleTimeout: Option.Option<string>
}

/** `--shard i/n` as a shard, or `InputInvalid` naming the flag. */
const parseShardFlag = (flag: Option.Option<string>) => {
  if (Option.isNone(flag)) return Effect.succeed(undefined)
  const shard = parseShard(flag.value)
  return typeof shard === "string" ? Effect.fail(new InputInvalid({ message: shard })) : Effect.succeed(shard)
}

export const handle = Effect.fn("runner run")(function* (
  flags: RunFlags,
  mode: { readonly merge?: boolean } = {}
) {
  const io = yield* Io
  const settings = yield* edgeSettings
  const { inputs, maxCostUsd, store, baseUrl, deadline } = yield* F.parsePlanFlags(flags, settings)
  const concurrency = yield* F.parseWhole("concurrency", flags.concurrency, {
    min: 1,
    max: 999,
    what: "a whole number"
  })
  const shard = yield* parseShardFlag(flags.shard)
  const clock = yield* Clock.Clock
  const progress = new Progress(io, {
    quiet: flags.format === "json",
    now: () => clock.currentTimeMillisUnsafe(),
    dumbTerminal: settings.dumbTerminal
  })
  // a live display moves on a timer too: the clock, the ETA and a wait's countdown
  const ticker = progress.live
    ? yield* Effect.forkChild(
        Effect.forever(
          Effect.andThen(
            Effect.sleep(TICK_MS),
            Effect.sync(() => progress.tick())
          )
        )
      )
    : undefined
  const interrupted = Effect.tap(io.interrupted, () =>
    Effect.sync(() =>
      progress.notice("interrupt: sending nothing more; waiting for requests in flight (again to quit now)")
    )
  )
  const result = yield* runFile(flags.pipeline, {
    cwd: io.cwd,
    keys: keyVariablesOf(io.env),
    inputs,
    baseUrl: flags.echo ? "echo:" : baseUrl,
    providerKind: Option.getOrUndefined(flags.providerKind),
    maxCostUsd,
    deadline,
    noCache: flags.noCache,
    offline: flags.offline,
    concurrency,
    outDir: yield* F.parseOutDir(flags.outDir),
    onEvent: (e) => progress.event(e),
    interrupted,
    shard,
    merge: mode.merge === true,
    untilDone: flags.untilDone,
    enforce: Option.getOrUndefined(flags.enforceBudget),
    settle: flags.settle,
    settleTimeoutMs: yield* F.parseDurationFlag("settle-timeout", flags.settleTimeout)
  }).pipe(
    Effect.provide(mainLayer({ settings, store, offline: flags.offline })),
    Effect.ensuring(
      Effect.andThen(
        ticker === undefined ? Effect.void : Fiber.interrupt(ticker),
        Effect.sync(() => progress.done())
      )
    )
  )
  yield* writeJsonFile(io, flags.jsonFile, result.kind === "gated" ? result.plan : result.summary)
  const exit = printResult(io, result, flags.format)
  if (exit !== undefined) return yield* exit
})
