/**
 * What the steps of one run share: the plan, the engine, the records, and the results so far.
 * What changes as the run goes (each step's tally, the outputs later steps read, the first
 * failure) is held in `Ref`s, never mutated behind `readonly`; the calibration samples, one a
 * request and only ever appended to, are a `MutableList` (a persistent chunk built a tree node
 * for each, ~1.4 KB a request).
 */
import type { EngineShape } from "@tollgate/core/Engine"
import type * as MutableList from "effect/MutableList"
import type * as Ref from "effect/Ref"
import type * as Semaphore from "effect/Semaphore"
import type { Sample } from "../plan/Calibration.ts"
import type { Planned } from "../plan/Plan.ts"
import type { OnEvent } from "./Events.ts"
import type { Records } from "./Records.ts"
import type { Split } from "./Shards.ts"
import type { StepActual } from "./Tally.ts"

/** The samples a run gathers for calibration, and how it counts expected tokens (the plan's memo). */
export interface Calibrating {
  readonly samples: MutableList.MutableList<Sample>
  readonly tokens: (text: string) => number
}

/** A step's results as later templates see them (`steps.<id>.output(s)`), or where they are on disk. */
export type StepOutputs = Readonly<
  Record<
    string,
    { readonly output?: unknown; readonly outputs?: ReadonlyArray<unknown>; readonly records?: string }
  >
>

/** The first failure that ends the run (a step failed without `continue_on_error`). */
export interface RunFailure {
  readonly kind: string
  readonly message: string
}

export interface RunContext {
  readonly planned: Planned
  readonly records: Records
  readonly engine: EngineShape
  /** The run-wide bound on requests in flight. */
  readonly gate: Semaphore.Semaphore
  readonly concurrency: number
  readonly noCache: boolean
  readonly onEvent: OnEvent
  /** Steps whose results a later template reads (kept in memory). */
  readonly referenced: ReadonlySet<string>
  /** Each step's tally so far. */
  readonly actual: Ref.Ref<ReadonlyMap<string, StepActual>>
  /** The finished steps' results, as later templates read them. */
  readonly stepOutputs: Ref.Ref<StepOutputs>
  /** This run is one shard of a split run, or the merge of one (`--shard`, `runner merge`). */
  readonly split: Split | undefined
  /** What this run teaches the plan (real provider replies only; undefined for echo and offline). */
  readonly calibration: Calibrating | undefined
  readonly failure: Ref.Ref<RunFailure | undefined>
  /** Each request in a span of its own (`TOLLGATE_DEBUG`); the run, its steps and packs always have theirs. */
  readonly requestSpans: boolean
}
