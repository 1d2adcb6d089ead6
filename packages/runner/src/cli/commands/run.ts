/** `runner run <pipeline.yaml | plan.json>`: gates, then executes; prints actual vs projected. */
import { Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { mainLayer } from "../../MainLayer.ts"
import { renderSummary, renderSummaryMarkdown } from "../../report/RunReport.ts"
import { type RunResult, runFile } from "../../run/Run.ts"
import { CommandExit } from "../Failures.ts"
import * as F from "../Flags.ts"
import { Io, type IoShape } from "../Io.ts"
import { Progress } from "../Progress.ts"
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

export const run = Command.make(
  "run",
  {
    pipeline: Argument.String("pipeline").pipe(
      Argument.withDescription("the pipeline file (pipeline.yaml), or a plan saved by `runner plan --out`")
    ),
    input: F.input,
    format: F.format,
    baseUrl: F.baseUrl,
    echo: Flag.Boolean("echo").pipe(
      Flag.withDescription("answer every request locally (no key, no network): try a pipeline for free"),
      Flag.withDefault(false)
    ),
    maxCost: F.maxCost,
    noCache: F.noCache,
    offline: Flag.Boolean("offline").pipe(
      Flag.withDescription("send nothing: every request must be in the cache (a miss exits 2)"),
      Flag.withDefault(false)
    ),
    concurrency: Flag.String("concurrency").pipe(
      Flag.withMetavar("N"),
      Flag.withDescription("requests in flight at most (default limits.concurrency, else 8)"),
      Flag.optional
    ),
    outDir: Flag.String("out-dir").pipe(
      Flag.withMetavar("DIR"),
      Flag.withDescription("where run records go (default .tollgate/runs); an unfinished run there resumes"),
      Flag.optional
    ),
    store: F.store
  },
  Effect.fnUntraced(function* (flags) {
    const io = yield* Io
    const { inputs, maxCostUsd, store, baseUrl } = yield* F.parsePlanFlags(flags, io.env)
    const concurrency = yield* F.parseWhole("concurrency", flags.concurrency, {
      min: 1,
      max: 999,
      what: "a whole number"
    })
    const progress = new Progress(io, { quiet: flags.format === "json" })
    const interrupted = Effect.tap(io.interrupted, () =>
      Effect.sync(() =>
        io.err("\ninterrupt: sending nothing more; waiting for requests in flight (again to quit now)\n")
      )
    )
    const result = yield* runFile(flags.pipeline, {
      cwd: io.cwd,
      env: io.env,
      inputs,
      baseUrl: flags.echo ? "echo:" : baseUrl,
      maxCostUsd,
      noCache: flags.noCache,
      offline: flags.offline,
      concurrency,
      outDir: Option.getOrUndefined(flags.outDir),
      onEvent: (e) => progress.event(e),
      interrupted
    }).pipe(
      Effect.provide(mainLayer({ env: io.env, store, offline: flags.offline })),
      Effect.ensuring(Effect.sync(() => progress.done()))
    )
    const exit = printResult(io, result, flags.format)
    if (exit !== undefined) return yield* exit
  })
).pipe(
  Command.withDescription(
    "plan, apply the gates, then execute within the budget; prints actual vs projected and records under --out-dir"
  )
)
