/**
 * The `runner` command line (`effect/cli`): the commands and their flags, help and version
 * written to the `Io`, and every way a command ends turned into one exit code (0 ok, 1 runtime
 * failure, 2 invalid input, 3 gate, 130 interrupted).
 */
import { fileURLToPath } from "node:url"
import * as Cause from "effect/Cause"
import { CliError, CliOutput, Command } from "effect/cli"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as References from "effect/References"
import { cost } from "./commands/cost.ts"
import { diff } from "./commands/diff.ts"
import { init } from "./commands/init.ts"
import { merge } from "./commands/merge.ts"
import { models } from "./commands/models.ts"
import { plan } from "./commands/plan.ts"
import { quota } from "./commands/quota.ts"
import { reconcile } from "./commands/reconcile.ts"
import { report as reportCommand } from "./commands/report.ts"
import { run } from "./commands/run.ts"
import { show } from "./commands/show.ts"
import { validate } from "./commands/validate.ts"
import { provideEdgeSettings } from "./EdgeSettings.ts"
import {
  type CommandError,
  errorDocument,
  failureDocument,
  report,
  reportDefect,
  wantsJson
} from "./Failures.ts"
import { Io, type IoShape } from "./Io.ts"

/** The package's version, from its package.json (beside src/ and dist/ alike). */
const version = Effect.gen(function* () {
  const fs = yield* FileSystem.FileSystem
  const text = yield* fs.readFileString(fileURLToPath(new URL("../../package.json", import.meta.url)))
  return (JSON.parse(text) as { version: string }).version
}).pipe(Effect.orDie)

export const root = Command.make("runner").pipe(
  Command.withDescription(
    "plan and run YAML prompt pipelines within a budget. Exit codes: 0 ok, 1 runtime failure, 2 invalid input (nothing sent), 3 budget or quota gate, 130 interrupted. State dir: $TOLLGATE_HOME, else $XDG_STATE_HOME/tollgate, else ~/.local/state/tollgate."
  ),
  Command.withSubcommands([
    init,
    validate,
    plan,
    diff,
    run,
    merge,
    reconcile,
    reportCommand,
    show,
    quota,
    models,
    cost
  ])
)

/** A parser message as one line: its suggestions ("Did you mean this?" and a list) folded in. */
const oneLine = (message: string): string => {
  const [main = "", ...more] = message
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")
  const suggestions = more.filter((l) => !/did you mean/i.test(l))
  return suggestions.length > 0
    ? `${main}; did you mean ${suggestions.map((s) => `"${s}"`).join(" or ")}?`
    : main
}

/** Help and version to stdout; an invalid invocation as one line on stderr. */
const presenter = (io: IoShape) => {
  const formatter = CliOutput.defaultFormatter({ colors: io.stdoutIsTTY })
  return Layer.mergeAll(
    CliOutput.layer(formatter),
    CliOutput.layerPresenter({
      present: (event) =>
        Effect.sync(() => {
          if (event._tag === "Version") return io.out(`${event.name} ${event.version}\n`)
          if (event._tag === "Help") return io.out(`${formatter.formatHelpDoc(event.helpDoc)}\n`)
          const first = oneLine(event.errors[0]?.message ?? "invalid command line")
          io.err(
            `error: ${first.charAt(0).toLowerCase()}${first.slice(1)} (see \`${event.commandPath.join(" ")} --help\`)\n`
          )
        })
    })
  )
}

/** A failure's exit code, printing what the user needs to see. */
const exitCodeOf = (io: IoShape, cause: Cause.Cause<CommandError | CliError.CliError>): number => {
  const error = Cause.findErrorOption(cause)
  if (error._tag === "None") return Cause.hasInterruptsOnly(cause) ? 130 : reportDefect(io, cause)
  const e = error.value
  if (!CliError.isCliError(e)) return report(io, e)
  // help shown because no command was given, or with parse errors: a usage error
  return e._tag === "ShowHelp" && e.errors.length === 0 && e.commandPath.length > 1 ? 0 : 2
}

/** With `--format json`, a failure is also a JSON document on stdout (what `exitCodeOf` printed, as data). */
const jsonFailure = (cause: Cause.Cause<CommandError | CliError.CliError>, code: number): string => {
  const error = Cause.findErrorOption(cause)
  if (error._tag === "None")
    return Cause.hasInterruptsOnly(cause)
      ? errorDocument("Interrupted", "interrupted", code)
      : errorDocument("InternalError", String(Cause.squash(cause)), code)
  const e = error.value
  if (!CliError.isCliError(e)) return failureDocument(e) ?? ""
  const first = "errors" in e ? (e.errors as ReadonlyArray<{ message: string }>)[0]?.message : undefined
  return errorDocument("UsageError", oneLine(first ?? e.message), code)
}

/** Runs `runner argv…` and returns its exit code. Needs the `Io` and the platform's CLI services. */
export const runCli = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const io = yield* Io
    const exit = yield* Command.runWith(root, { version: yield* version })(argv).pipe(
      provideEdgeSettings,
      Effect.provide(presenter(io)),
      // the CLI prints its own messages: Effect's logger (e.g. a Redis client's warnings) stays quiet
      Effect.provideService(References.MinimumLogLevel, "None"),
      Effect.exit
    )
    if (Exit.isSuccess(exit)) return 0
    const code = exitCodeOf(io, exit.cause)
    if (code !== 0 && wantsJson(argv)) io.out(jsonFailure(exit.cause, code))
    return code
  })
