/**
 * The ways a command or library call ends without a result, each a tagged error carrying the
 * exit code CI sees (`Runtime.errorExitCode`): 2 invalid input (nothing sent), 1 a runtime
 * failure, 3 a gate. Messages are one line, for a person in a hurry.
 */
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import type { Diagnostic } from "./dsl/Diagnostics.ts"

const DiagnosticSchema = Schema.Struct({
  file: Schema.String,
  line: Schema.Number,
  col: Schema.Number,
  message: Schema.String,
  rule: Schema.String
})

/** A pipeline that does not validate: every diagnostic, `file:line:col: message [rule]`. Exit 2. */
export class PipelineInvalid extends Schema.TaggedError<PipelineInvalid>()("PipelineInvalid", {
  message: Schema.String,
  diagnostics: Schema.Array(DiagnosticSchema),
  /** Source texts by display name, for caret snippets on a terminal. */
  sources: Schema.Record(Schema.String, Schema.String)
}) {
  override readonly [Runtime.errorExitCode] = 2
  static fromDiagnostics(
    diagnostics: ReadonlyArray<Diagnostic>,
    sources: ReadonlyMap<string, string>,
    message: string
  ) {
    return new PipelineInvalid({
      message,
      diagnostics: [...diagnostics],
      sources: Object.fromEntries(sources)
    })
  }
}

/** Bad input that is not the pipeline: a flag, a saved plan, a stale plan, a missing key. Nothing was sent. Exit 2. */
export class InputInvalid extends Schema.TaggedError<InputInvalid>()("InputInvalid", {
  message: Schema.String
}) {
  override readonly [Runtime.errorExitCode] = 2
}

/** The `--store` could not be reached. Exit 1. */
export class StoreUnavailable extends Schema.TaggedError<StoreUnavailable>()("StoreUnavailable", {
  message: Schema.String
}) {
  override readonly [Runtime.errorExitCode] = 1
}

/** A state file (ledger, run records, catalog) is damaged: the message names it and what to do. Exit 1. */
export class StateDamaged extends Schema.TaggedError<StateDamaged>()("StateDamaged", {
  message: Schema.String
}) {
  override readonly [Runtime.errorExitCode] = 1
}

/** Another process is running the same pipeline into the same out-dir. Nothing was sent. Exit 1. */
export class RunBusy extends Schema.TaggedError<RunBusy>()("RunBusy", {
  message: Schema.String
}) {
  override readonly [Runtime.errorExitCode] = 1
}

/** The provider would not mint the run's capped key (`budget.enforce: provider`). Nothing was sent. Exit 1. */
export class ProviderKeyFailed extends Schema.TaggedError<ProviderKeyFailed>()("ProviderKeyFailed", {
  message: Schema.String
}) {
  override readonly [Runtime.errorExitCode] = 1
}

/** A file the command had to read or write could not be (permissions, a full disk): the message names it. Exit 1. */
export class FileFailed extends Schema.TaggedError<FileFailed>()("FileFailed", {
  message: Schema.String
}) {
  override readonly [Runtime.errorExitCode] = 1
  static of(e: { readonly message: string }) {
    return new FileFailed({ message: e.message })
  }
}

/** Anything a library call can fail with. */
export type RunnerError =
  | PipelineInvalid
  | InputInvalid
  | StoreUnavailable
  | StateDamaged
  | RunBusy
  | ProviderKeyFailed
  | FileFailed
