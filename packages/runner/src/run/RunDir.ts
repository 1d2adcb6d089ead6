/**
 * A run's directory read back for people (`runner report`, `runner show`): its summary, its
 * events and its step records, each decoded; a damaged line is left out, a missing file is
 * absent. A run killed before its summary still shows its plan, events and records.
 */
import { join } from "node:path"
import * as Files from "@tollgate/core/Files"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Schema from "effect/Schema"
import { FileFailed, InputInvalid } from "../Errors.ts"
import { PlanForReport, PlanStep } from "../plan/SavedPlan.ts"
import { allRecords, decodeJson } from "./Records.ts"
import type { RequestRecord } from "./RequestRecord.ts"

/** One line of `events.ndjson` as a report reads it: the fields of every kind, each optional. */
export const EventLine = Schema.Struct({
  ts: Schema.String,
  type: Schema.String,
  at: Schema.optionalKey(Schema.Number),
  step: Schema.optionalKey(Schema.String),
  item: Schema.optionalKey(Schema.Number),
  pack: Schema.optionalKey(Schema.Number),
  attempt: Schema.optionalKey(Schema.Number),
  status: Schema.optionalKey(Schema.NullOr(Schema.Number)),
  cost: Schema.optionalKey(Schema.NullOr(Schema.String)),
  free: Schema.optionalKey(Schema.Boolean),
  delayMs: Schema.optionalKey(Schema.Number),
  waitedMs: Schema.optionalKey(Schema.Number),
  reason: Schema.optionalKey(Schema.String),
  message: Schema.optionalKey(Schema.String),
  until: Schema.optionalKey(Schema.Number),
  what: Schema.optionalKey(Schema.String)
})
export type EventLine = typeof EventLine.Type

const StepActual = Schema.Struct({
  requests: Schema.Number,
  completed: Schema.Number,
  cached: Schema.Number,
  failed: Schema.Number,
  retries: Schema.Number,
  rate_limited: Schema.Number,
  cost_usd: Schema.Number
})

/** What a report reads of `summary.json`: the plan's fields, and what happened. */
export const RunSummaryView = Schema.Struct({
  ...PlanForReport.fields,
  steps: Schema.Array(Schema.Struct({ ...PlanStep.fields, actual: Schema.optionalKey(StepActual) })),
  status: Schema.String,
  run: Schema.Struct({ id: Schema.String }),
  finished_at: Schema.optionalKey(Schema.String),
  actual: Schema.Struct({
    requests: Schema.Number,
    cached: Schema.Number,
    reused: Schema.Number,
    retries: Schema.Number,
    rate_limited: Schema.Number,
    failed: Schema.Number,
    cost_usd: Schema.Number,
    duration_s: Schema.Number,
    settlement: Schema.optionalKey(
      Schema.Struct({
        requests: Schema.Number,
        settled: Schema.Number,
        drift_usd: Schema.String,
        drift_pct: Schema.Number
      })
    ),
    overflow: Schema.optionalKey(
      Schema.Struct({ free: Schema.Number, paid: Schema.Number, saved_usd: Schema.Number })
    )
  }),
  outputs: Schema.optionalKey(Schema.Record(Schema.String, Schema.Unknown))
})
export type RunSummaryView = typeof RunSummaryView.Type

export interface RunDir {
  readonly dir: string
  /** The finished run's summary; absent when the run was killed or is still going. */
  readonly summary: RunSummaryView | undefined
  /** The plan the run started from (`plan.json`). */
  readonly plan: PlanForReport | undefined
  readonly events: ReadonlyArray<EventLine>
  /** Every step's records, by step id, in the order they were written. */
  readonly records: ReadonlyMap<string, ReadonlyArray<RequestRecord>>
}

const decodeSummary = decodeJson(RunSummaryView)
const decodePlan = decodeJson(PlanForReport)
const decodeEvent = decodeJson(EventLine)

/** The events of `events.ndjson`, damaged lines left out. */
export const eventsOf = (text: string): EventLine[] =>
  text.split("\n").flatMap((line) => {
    const e = line.trim() === "" ? undefined : decodeEvent(line)
    return e === undefined ? [] : [e]
  })

/** A run's directory, or `InputInvalid` when `dir` holds no run (exit 2). */
export const readRunDir = Effect.fnUntraced(function* (dir: string, display: string) {
  const fs = yield* FileSystem.FileSystem
  const has = (name: string) => fs.exists(join(dir, name)).pipe(Effect.orElseSucceed(() => false))
  if (!(yield* has("run.json")) && !(yield* has("summary.json")))
    return yield* new InputInvalid({
      message: `${display}: not a run directory (no run.json or summary.json); runs are under .tollgate/runs/<run-id>`
    })
  const read = (name: string) =>
    Files.readTextIfAny(join(dir, name)).pipe(
      Effect.map((text) => text ?? ""),
      Effect.mapError(FileFailed.of)
    )
  return {
    dir,
    summary: decodeSummary(yield* read("summary.json")),
    plan: decodePlan(yield* read("plan.json")),
    events: eventsOf(yield* read("events.ndjson")),
    records: allRecords(dir)
  } satisfies RunDir
})

/** The run's steps in the pipeline's order, then any others its records hold. */
export const stepIdsOf = (run: RunDir): string[] => {
  const planned = (run.summary ?? run.plan)?.steps.map((s) => s.id) ?? []
  return [...planned, ...[...run.records.keys()].filter((id) => !planned.includes(id))]
}
