/**
 * How a command ends when it does not succeed: every expected failure is printed as one line (or
 * the diagnostics) and becomes its exit code; no stack traces for expected errors.
 */
import * as Cause from "effect/Cause"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import { type Diagnostic, render } from "../dsl/Diagnostics.ts"
import type { RunnerError } from "../Errors.ts"
import type { IoShape } from "./Io.ts"

/** A command that printed its result and ends with a non-zero code (a gate, a failed or stopped run). */
export class CommandExit extends Schema.TaggedError<CommandExit>()("CommandExit", {
  code: Schema.Number,
  /** A last line for stderr, if any. */
  message: Schema.optionalKey(Schema.String)
}) {
  override get [Runtime.errorExitCode]() {
    return this.code
  }
}

export type CommandError = RunnerError | CommandExit

/** Prints a command's failure and returns its exit code. */
export const report = (io: IoShape, e: CommandError): number => {
  switch (e._tag) {
    case "PipelineInvalid":
      io.err(render(e.diagnostics, io.stdoutIsTTY ? new Map(Object.entries(e.sources)) : undefined))
      io.err(`${e.message}\n`)
      return 2
    case "CommandExit":
      if (e.message !== undefined) io.err(`${e.message}\n`)
      return e.code
    default:
      io.err(`error: ${e.message}\n`)
      return Runtime.getErrorExitCode(e)
  }
}

/**
 * The failure as a JSON document on stdout, for `--format json` (or `jsonl`): a program reading
 * stdout gets an answer however the command ended. `CommandExit` printed its own result.
 */
export const errorDocument = (
  kind: string,
  message: string,
  exitCode: number,
  diagnostics?: ReadonlyArray<Diagnostic>
): string =>
  `${JSON.stringify(
    {
      ok: false,
      error: {
        kind,
        message,
        exit_code: exitCode,
        ...(diagnostics === undefined ? {} : { diagnostics })
      }
    },
    null,
    2
  )}\n`

/** `--format json`, `--format=json` (or jsonl) among a command line's words. */
export const wantsJson = (argv: ReadonlyArray<string>): boolean =>
  argv.some(
    (a, i) =>
      a === "--format=json" ||
      a === "--format=jsonl" ||
      (a === "--format" && /^jsonl?$/.test(argv[i + 1] ?? ""))
  )

/** A command's failure as its JSON document (none for `CommandExit`, whose command printed its result). */
export const failureDocument = (e: CommandError): string | undefined =>
  e._tag === "CommandExit"
    ? undefined
    : errorDocument(
        e._tag,
        e.message,
        Runtime.getErrorExitCode(e),
        e._tag === "PipelineInvalid" ? e.diagnostics : undefined
      )

/**
 * A defect (a bug): one line, the stack only with `TOLLGATE_DEBUG`, read here from the `Io`
 * itself: a defect may come before the settings could be read, or from reading them.
 */
export const reportDefect = (io: IoShape, cause: Cause.Cause<unknown>): number => {
  const e = Cause.squash(cause)
  const message = e instanceof Error ? e.message : String(e)
  io.err(`internal error: ${message} (a bug: please report it; TOLLGATE_DEBUG=1 shows where)\n`)
  if (io.env.TOLLGATE_DEBUG) io.err(`${e instanceof Error ? e.stack : Cause.pretty(cause)}\n`)
  return 1
}
