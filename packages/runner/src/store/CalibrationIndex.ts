/**
 * The calibration index beside the run records (`<out-dir>/.calibration.json`): read by plan,
 * updated at the end of each run that a real provider answered. Small (per model, and the newest
 * samples per step); decoded on read (a damaged index is read as empty and rewritten); updated
 * under a cross-process lock and written atomically, so runs ending at once (shards) keep each
 * other's samples.
 */
import { join } from "node:path"
import { withFileLock } from "@tollgate/core/FileLock"
import * as Files from "@tollgate/core/Files"
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

export interface ModelTokens {
  /** Prompt tokens the provider billed, and what we expected for the same requests. */
  readonly billed: number
  readonly expected: number
  readonly requests: number
}

/** A step's own history (by `pipeline/step/model`). */
export interface StepHistory {
  /** Completion tokens per item, newest last. */
  readonly completion: ReadonlyArray<number>
  /** Beside each completion: whether its reply hit `max_tokens` (the true length is at least that). */
  readonly capped?: ReadonlyArray<boolean>
  /** The step's own prompt tokens: billed, and what we expected. */
  readonly prompt?: { readonly billed: number; readonly expected: number }
}

/** The index as stored: by model id, and by `pipeline/step/model`. */
export interface Index {
  readonly version: 1
  readonly models: Readonly<Record<string, ModelTokens>>
  readonly steps: Readonly<Record<string, StepHistory>>
}

export const emptyIndex: Index = { version: 1, models: {}, steps: {} }

const IndexSchema = Schema.Struct({
  version: Schema.Literal(1),
  models: Schema.Record(
    Schema.String,
    Schema.Struct({ billed: Schema.Number, expected: Schema.Number, requests: Schema.Number })
  ),
  steps: Schema.Record(
    Schema.String,
    Schema.Struct({
      completion: Schema.Array(Schema.Number),
      capped: Schema.optionalKey(Schema.Array(Schema.Boolean)),
      prompt: Schema.optionalKey(Schema.Struct({ billed: Schema.Number, expected: Schema.Number }))
    })
  )
})
const decode = Schema.decodeUnknownOption(Schema.fromJsonString(IndexSchema))

/** An index's text decoded; a damaged or missing one is empty. */
export const decodeIndex = (text: string | undefined | null): Index =>
  text == null ? emptyIndex : Option.getOrElse(decode(text), () => emptyIndex)

/** Hidden beside the run directories, so listing the runs lists runs. */
export const indexFile = (runsDir: string): string => join(runsDir, ".calibration.json")

export const readIndex = (runsDir: string): Effect.Effect<Index, never, FileSystem.FileSystem> =>
  Files.readTextIfAny(indexFile(runsDir)).pipe(
    Effect.map(decodeIndex),
    Effect.orElseSucceed(() => emptyIndex)
  )

/**
 * Updates the index under its lock. Best effort: an unwritable out-dir or a lock held too long
 * only means the next plan learns nothing from this run.
 */
export const updateIndex = (
  runsDir: string,
  f: (index: Index) => Index
): Effect.Effect<void, never, FileSystem.FileSystem> => {
  const file = indexFile(runsDir)
  const write = Effect.flatMap(readIndex(runsDir), (index) =>
    Files.writeAtomic(file, `${JSON.stringify(f(index))}\n`)
  )
  // nothing learned this time
  return Effect.ignore(withFileLock(file, write))
}
