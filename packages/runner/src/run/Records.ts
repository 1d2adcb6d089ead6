/**
 * Run records under `<out-dir>/<run-id>/`: `run.json`, `plan.json`, `events.ndjson` (appended as
 * things happen, so a crash leaves an honest record), `steps/<id>.jsonl` (one line per finished
 * request), `outputs.json`, `summary.json`. A run of the same pipeline, inputs and data that did
 * not complete is resumed in place: its finished requests are reused, never sent again. Every
 * file read back is decoded; a line cut short by a kill is simply not reused.
 */
import { basename, join } from "node:path"
import * as SyncFiles from "@tollgate/core/SyncFiles"
import * as Money from "@tollgate/pricing/Money"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { AppendLog } from "./AppendLog.ts"
import type { RunEvent } from "./Events.ts"
import { RequestRecord } from "./RequestRecord.ts"
import { extraOf, SettlementLine } from "./Settlement.ts"
import { tallyEvents, tallyRecords, type UnsettledCount } from "./Spending.ts"

const ShardMeta = Schema.Struct({ index: Schema.Number, count: Schema.Number })

const RunMeta = Schema.Struct({
  identity: Schema.String,
  pipeline: Schema.String,
  started_at: Schema.String,
  /** A shard of a split run: the identity of the whole run, and which shard. */
  base: Schema.optionalKey(Schema.String),
  shard: Schema.optionalKey(ShardMeta)
})
export type RunMeta = typeof RunMeta.Type

const SummaryStatus = Schema.Struct({ status: Schema.String })

/** A decoder of one JSON text by `schema`: the value, or undefined for anything else. */
export const decodeJson = <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S) => {
  const decode = Schema.decodeUnknownOption(Schema.fromJsonString(schema))
  return (text: string): S["Type"] | undefined => Option.getOrUndefined(decode(text))
}
const decodeMeta = decodeJson(RunMeta)

/** A run dir's `run.json`, decoded; undefined when missing or damaged. */
export const readMeta = (dir: string): RunMeta | undefined =>
  decodeMeta(readText(join(dir, "run.json")) ?? "")

/** A run dir's `summary.json` status, when it has one. */
export const readStatus = (dir: string): string | undefined => {
  const text = readText(join(dir, "summary.json"))
  return text === undefined ? undefined : decodeStatus(text)?.status
}

/** The records of a `steps/<id>.jsonl` text, damaged lines (a kill's cut) left out. */
const recordsOf = (text: string): RequestRecord[] =>
  text.split("\n").flatMap((line) => {
    const r = line.trim() === "" ? undefined : decodeRecord(line)
    return r === undefined ? [] : [r]
  })

/** The answered requests of a step in a run dir (`steps/<id>.jsonl`). */
export const stepRecords = (dir: string, stepId: string): RequestRecord[] =>
  recordsOf(readText(join(dir, "steps", `${stepId}.jsonl`)) ?? "").filter((r) => r.status === "ok")
const decodeStatus = decodeJson(SummaryStatus)
const decodeRecord = decodeJson(RequestRecord)
const decodeSettlement = decodeJson(SettlementLine)

/** Every step's records in a run dir (`steps/<id>.jsonl`), by step id. */
export const allRecords = (dir: string): Map<string, RequestRecord[]> =>
  new Map(
    stepFiles(dir).map((f) => [
      f.slice(0, -".jsonl".length),
      recordsOf(readText(join(dir, "steps", f)) ?? "")
    ])
  )

/** The step record files of a run dir (`steps/*.jsonl`); none before a step finished. */
const stepFiles = (dir: string): string[] => {
  try {
    return SyncFiles.list(join(dir, "steps")).filter((f) => f.endsWith(".jsonl"))
  } catch {
    return []
  }
}

const settlementsFile = (dir: string) => join(dir, "settlements.jsonl")

/** The run's settlements against the provider's bill (`settlements.jsonl`), damaged lines left out. */
export const readSettlements = (dir: string): SettlementLine[] =>
  (readText(settlementsFile(dir)) ?? "").split("\n").flatMap((line) => {
    const l = line.trim() === "" ? undefined : decodeSettlement(line)
    return l === undefined ? [] : [l]
  })

/** Appends settlements (never rewriting one already there). */
export const appendSettlements = (dir: string, lines: ReadonlyArray<SettlementLine>): void => {
  if (lines.length > 0)
    SyncFiles.append(settlementsFile(dir), lines.map((l) => `${JSON.stringify(l)}\n`).join(""))
}

/** A file's text, or undefined when it cannot be read. */
export const readText = (path: string): string | undefined => {
  try {
    return SyncFiles.readText(path)
  } catch {
    return undefined
  }
}

const writeJsonAtomic = (path: string, value: unknown) =>
  SyncFiles.writeAtomic(path, `${JSON.stringify(value, null, 2)}\n`)

const runIdFor = (now: Date, identity: string, suffix: string) =>
  `${now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")}-${identity.slice(0, 8)}${suffix}`

/** The newest run of this identity that has no completed summary, if any. */
const findResumable = (
  outDir: string,
  identity: string,
  pipeline: string,
  legacy: (() => string) | undefined
): string | undefined => {
  let names: string[]
  try {
    names = SyncFiles.list(outDir).sort().reverse()
  } catch {
    return undefined
  }
  let legacyIdentity: string | undefined
  for (const name of names) {
    const dir = join(outDir, name)
    const meta = readMeta(dir)
    const own = meta?.identity
    if (own === undefined) continue
    if (own !== identity) {
      // an unfinished run of this pipeline an earlier runner named the old way is this run, resumed as such
      if (legacy === undefined || meta?.pipeline !== pipeline || readStatus(dir) === "completed") continue
      legacyIdentity ??= legacy()
      if (own !== legacyIdentity) continue
    }
    // the latest of this identity finished: start anew
    if (readStatus(dir) === "completed") return undefined
    return dir
  }
  return undefined
}

/** Finished requests of earlier attempts at a run, by request key, and what those attempts spent. */
export interface Finished {
  readonly previous: ReadonlyMap<string, RequestRecord>
  readonly spent: Money.Usd
}

/** What a run dir's files say of its earlier processes. */
export interface ReadBack extends Finished {
  readonly previous: Map<string, RequestRecord>
  readonly unsettled: ReadonlyArray<UnsettledCount>
  readonly freeByDay: ReadonlyMap<string, number>
  /** The event log is gone: attempts in flight when the last process stopped are unknown. */
  readonly eventsMissing: boolean
}

/**
 * A run dir's finished requests and spending (the larger of its events' and its step records'),
 * and its free-quota counts left unsettled. Throws `RecordDamage` on a cost that is not one.
 */
export const readFinished = (dir: string): ReadBack => {
  const eventsFile = join(dir, "events.ndjson")
  const eventsText = readText(eventsFile)
  const events = tallyEvents(eventsFile, eventsText ?? "")
  const previous = new Map<string, RequestRecord>()
  let recorded = Money.zero
  for (const f of stepFiles(dir)) {
    const file = join(dir, "steps", f)
    const text = readText(file) ?? ""
    recorded = Money.add(recorded, tallyRecords(file, text))
    for (const r of recordsOf(text)) if (r.status === "ok") previous.set(r.key, r)
  }
  // a bill above the reply's figure counts at the bill
  const settled = extraOf(readSettlements(dir))
  return {
    previous,
    spent: Money.add(Money.max(events.spent, recorded), settled),
    unsettled: events.unsettled,
    freeByDay: events.freeByDay,
    eventsMissing: eventsText === undefined
  }
}

export interface OpenOptions {
  readonly shard?: { readonly base: string; readonly index: number; readonly count: number }
  /** Answers (and their cost) from elsewhere the run reuses, as a merge its shards'. */
  readonly seed?: Finished
  /** The worst case of what a stopped process may have had in flight (counted if its event log is gone). */
  readonly inFlightWorst?: Money.Usd
  /** The identity an earlier runner gave this run (inputs hashed row by row): an unfinished run of it resumes. */
  readonly legacyIdentity?: () => string
  /** The run's clock (Effect's `Clock`), which stamps an event that carries no `at` of its own. */
  readonly now: () => number
}

/**
 * Events written as they happen, before the next thing is done: a free-quota count the store may
 * hold unanswered, a stop, a step's start and end. Every other line (an attempt, a response's
 * bill, a request's record) is gathered and written with the others of the same turn of the event
 * loop, once its work is done (`setImmediate`): one `write` a file for everything a turn produced,
 * where a write a line cost more than the rest of a request's bookkeeping. An attempt's request
 * still goes out only once its event is written (the engine waits for `durable`), so a resume
 * counts what a killed process had in flight.
 */
const writtenAtOnce = (e: RunEvent): boolean =>
  e.type !== "attempt" &&
  e.type !== "response" &&
  e.type !== "wait" &&
  e.type !== "waiting" &&
  e.type !== "cache-hit"

/** How long after a failed write the gathered lines are tried again. */
const RETRY_WRITE_MS = 100

export class Records {
  readonly dir: string
  readonly id: string
  readonly resumed: boolean
  /** Finished requests of an earlier, interrupted attempt at this run, by request key. */
  readonly previous: ReadonlyMap<string, RequestRecord>
  /** What earlier attempts at this run spent: the budget covers the whole run, resumes included. */
  readonly spentBefore: Money.Usd
  /** Free-quota counts of earlier attempts whose answer was lost with the store (their requests were not sent). */
  readonly unsettled: ReadonlyArray<UnsettledCount>
  /** What reading the earlier processes' files found that the user should know. */
  readonly warnings: ReadonlyArray<string>
  /** Free-model attempts earlier attempts at this run sent, by UTC day. */
  private readonly freeByDay: ReadonlyMap<string, number>
  /** Answers this run dir already holds: reused, they are not written again. */
  private readonly own: ReadonlyMap<string, RequestRecord>
  private readonly log = new AppendLog()
  private readonly now: () => number
  /** Lines gathered for one write a file, by path (see `writtenAtOnce`). */
  private readonly gathered = new Map<string, string>()
  /** An attempt's event is among them: its request waits for the write (`durable`). */
  private attemptGathered = false
  private writeQueued = false
  /** Closed with the run's scope: no write is queued after that (a failed one is not retried). */
  private closed = false
  /** Requests waiting for their attempt's event to be written. */
  private readonly waiting: Array<(written: Effect.Effect<void>) => void> = []
  /** Where events and each step's records go, joined once. */
  private readonly eventsPath: string
  private readonly stepPaths = new Map<string, string>()

  private constructor(dir: string, resumed: boolean, opts: OpenOptions) {
    this.dir = dir
    this.id = basename(dir)
    this.resumed = resumed
    const own = resumed ? readFinished(dir) : undefined
    // with the event log gone, what was in flight when the last process stopped is unknown: its worst case
    const unknown = own?.eventsMissing === true ? (opts.inFlightWorst ?? Money.zero) : Money.zero
    this.warnings =
      own?.eventsMissing === true
        ? [
            `the run being resumed has no events.ndjson: its step records count ($${Money.toPlain(own.spent)}), and the requests that may have been in flight when it stopped are counted at their worst case ($${Money.toPlain(unknown)})`
          ]
        : []
    // a merge starts from its shards' answers and spending
    this.own = own?.previous ?? new Map()
    this.previous = new Map([...(opts.seed?.previous ?? []), ...this.own])
    this.spentBefore = Money.sum([opts.seed?.spent ?? Money.zero, own?.spent ?? Money.zero, unknown])
    this.unsettled = own?.unsettled ?? []
    this.freeByDay = own?.freeByDay ?? new Map()
    this.now = opts.now
    this.eventsPath = join(dir, "events.ndjson")
  }

  /** Free-model attempts earlier processes of this run sent on a UTC day (`YYYY-MM-DD`). */
  freeSentOn(day: string): number {
    return this.freeByDay.get(day) ?? 0
  }

  /**
   * Opens the run dir: resumes an unfinished run of the same identity, or starts a new one.
   * `seed`: answers (and their cost) from elsewhere the run reuses, as a merge its shards'.
   */
  static open(outDir: string, identity: string, pipeline: string, now: Date, opts: OpenOptions): Records {
    const resumable = findResumable(outDir, identity, pipeline, opts.legacyIdentity)
    if (resumable !== undefined) {
      SyncFiles.makeDir(join(resumable, "steps"))
      return new Records(resumable, true, opts)
    }
    const shard = opts.shard
    const suffix =
      shard !== undefined ? `-shard${shard.index}of${shard.count}` : opts.seed !== undefined ? "-merge" : ""
    const dir = join(outDir, runIdFor(now, identity, suffix))
    SyncFiles.makeDir(join(dir, "steps"))
    writeJsonAtomic(join(dir, "run.json"), {
      identity,
      pipeline,
      started_at: now.toISOString(),
      ...(shard !== undefined ? { base: shard.base, shard: { index: shard.index, count: shard.count } } : {})
    } satisfies RunMeta)
    return new Records(dir, false, opts)
  }

  writePlan(plan: unknown): void {
    writeJsonAtomic(join(this.dir, "plan.json"), plan)
  }

  /** Appends an event, stamped with its own `at` when it has one, else the run's clock. */
  event(e: RunEvent): void {
    const at = "at" in e && typeof e.at === "number" ? e.at : this.now()
    this.gather(this.eventsPath, this.lineOf(at, e))
    if (e.type === "attempt") this.attemptGathered = true
    else if (writtenAtOnce(e)) this.writeGathered()
  }

  /** The last stamp made: events come in bursts of the same millisecond. */
  private stamp = { at: Number.NaN, iso: "" }

  /** An event's line: `{"ts": …, …the event}`, as `JSON.stringify` of the two joined writes it. */
  private lineOf(at: number, e: RunEvent): string {
    if (at !== this.stamp.at) this.stamp = { at, iso: new Date(at).toISOString() }
    const rest = JSON.stringify(e)
    return `{"ts":"${this.stamp.iso}"${rest === "{}" ? "" : ","}${rest.slice(1)}\n`
  }

  /**
   * Done once every attempt's event gathered so far is written: a request goes out only after
   * that. Dies when the write fails (the request is not sent).
   */
  readonly durable: Effect.Effect<void> = Effect.suspend(() =>
    !this.attemptGathered
      ? Effect.void
      : this.closed
        ? Effect.die(new Error(`the records of run ${this.id} are closed`))
        : Effect.callback<void>((resume) => {
            this.waiting.push(resume)
            this.queueWrite()
          })
  )

  private gather(path: string, line: string): void {
    this.gathered.set(path, (this.gathered.get(path) ?? "") + line)
    this.queueWrite()
  }

  /** Writes what is gathered once the work of this turn is done (the lines stay gathered if it fails). */
  private queueWrite(): void {
    if (this.writeQueued || this.closed) return
    this.writeQueued = true
    setImmediate(() => {
      try {
        this.writeGathered()
      } catch {
        // the lines stay gathered and those waiting were told; tried again shortly, so paid
        // answers do not wait in memory for the next attempt or the run's end
        setTimeout(() => this.queueWrite(), RETRY_WRITE_MS).unref()
      }
    })
  }

  /** Writes every gathered line, one append a file; throws when a write fails. */
  writeGathered(): void {
    this.writeQueued = false
    const waiting = this.waiting.splice(0)
    try {
      for (const [path, text] of this.gathered) {
        this.log.append(path, text)
        this.gathered.delete(path)
      }
      this.attemptGathered = false
    } catch (e) {
      for (const resume of waiting) resume(Effect.die(e))
      throw e
    }
    for (const resume of waiting) resume(Effect.void)
  }

  request(stepId: string, r: RequestRecord): void {
    if (r.reused === true && this.own.has(r.key)) return // already in this run's records
    let path = this.stepPaths.get(stepId)
    if (path === undefined) {
      path = join(this.dir, "steps", `${stepId}.jsonl`)
      this.stepPaths.set(stepId, path)
    }
    this.gather(path, `${JSON.stringify(r)}\n`)
  }

  /** Closes the files the run appends to (the run's scope does, when it ends). */
  close(): void {
    this.closed = true
    try {
      this.writeGathered()
    } finally {
      this.log.close()
    }
  }

  writeOutputs(outputs: unknown): void {
    writeJsonAtomic(join(this.dir, "outputs.json"), outputs)
  }

  writeSummary(summary: unknown): void {
    writeJsonAtomic(join(this.dir, "summary.json"), summary)
  }
}
