/**
 * The calibration index beside the run records (`<out-dir>/.calibration.json`): read by plan,
 * updated at the end of each run that a real provider answered. Small (per model, and the newest
 * samples per step); decoded on read (a damaged index is read as empty and rewritten); written
 * atomically. Two runs ending at once may each miss the other's samples: that only costs samples.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import * as StateDir from "@tollgate/pricing/StateDir"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

export interface ModelTokens {
  /** Prompt tokens the provider billed, and what we expected for the same requests. */
  readonly billed: number
  readonly expected: number
  readonly requests: number
}

/** The index as stored: by model id, and by `pipeline/step/model`. */
export interface Index {
  readonly version: 1
  readonly models: Readonly<Record<string, ModelTokens>>
  readonly steps: Readonly<Record<string, { readonly completion: ReadonlyArray<number> }>>
}

export const emptyIndex: Index = { version: 1, models: {}, steps: {} }

const IndexSchema = Schema.Struct({
  version: Schema.Literal(1),
  models: Schema.Record(
    Schema.String,
    Schema.Struct({ billed: Schema.Number, expected: Schema.Number, requests: Schema.Number })
  ),
  steps: Schema.Record(Schema.String, Schema.Struct({ completion: Schema.Array(Schema.Number) }))
})
const decode = Schema.decodeUnknownOption(Schema.fromJsonString(IndexSchema))

/** Hidden beside the run directories, so listing the runs lists runs. */
export const indexFile = (runsDir: string): string => join(runsDir, ".calibration.json")

export const readIndex = (runsDir: string): Index => {
  try {
    return Option.getOrElse(decode(readFileSync(indexFile(runsDir), "utf8")), () => emptyIndex)
  } catch {
    return emptyIndex
  }
}

/** Writes the index (atomically). */
export const writeIndex = (runsDir: string, index: Index): void => {
  try {
    StateDir.writeAtomicSync(indexFile(runsDir), `${JSON.stringify(index)}\n`)
  } catch {
    // an unwritable out-dir: the next plan learns nothing from this run
  }
}
