/**
 * Run records under `<out-dir>/<run-id>/`: `run.json`, `plan.json`, `events.ndjson` (appended as
 * things happen, so a crash leaves an honest record), `steps/<id>.jsonl` (one line per finished
 * request), `outputs.json`, `summary.json`. A run of the same pipeline, inputs and data that did
 * not complete is resumed in place: its finished requests are reused, never sent again. Every
 * file read back is decoded; a line cut short by a kill is simply not reused.
 */
import { appendFileSync, mkdirSync, readdirSync, readFileSync } from "node:fs"
import { basename, join } from "node:path"
import * as Money from "@tollgate/pricing/Money"
import * as Policy from "@tollgate/pricing/Policy"
import * as StateDir from "@tollgate/pricing/StateDir"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { RunEvent } from "./Events.ts"

export const RequestRecord = Schema.Struct({
  index: Schema.Number,
  key: Schema.String,
  /** `split`: a pack whose reply did not split into its items' answers (its items went again, smaller). */
  status: Schema.Literals(["ok", "error", "split"]),
  output: Schema.optionalKey(Schema.Unknown),
  cost_usd: Schema.optionalKey(Schema.String),
  cost_source: Schema.optionalKey(Schema.String),
  /** Tokens × catalog prices, recorded beside `usage.cost` for comparison. */
  catalog_cost_usd: Schema.optionalKey(Schema.String),
  cached: Schema.optionalKey(Schema.Boolean),
  reused: Schema.optionalKey(Schema.Boolean),
  attempts: Schema.optionalKey(Schema.Number),
  usage: Schema.optionalKey(Schema.Unknown),
  model: Schema.optionalKey(Schema.String),
  error: Schema.optionalKey(Schema.String),
  /** An item answered in a pack: the pack request's key, its size, and the item's place in it. */
  pack: Schema.optionalKey(
    Schema.Struct({ key: Schema.String, size: Schema.Number, position: Schema.Number })
  )
})
export type RequestRecord = typeof RequestRecord.Type

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

const decodeJson = <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S) => {
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

/** The records of a `steps/<id>.jsonl` file, damaged lines (a kill's cut) left out. */
const recordsIn = (path: string): RequestRecord[] =>
  (readText(path) ?? "").split("\n").flatMap((line) => {
    const r = line.trim() === "" ? undefined : decodeRecord(line)
    return r === undefined ? [] : [r]
  })

/** The answered requests of a step in a run dir (`steps/<id>.jsonl`). */
export const stepRecords = (dir: string, stepId: string): RequestRecord[] =>
  recordsIn(join(dir, "steps", `${stepId}.jsonl`)).filter((r) => r.status === "ok")
const decodeStatus = decodeJson(SummaryStatus)
const decodeRecord = decodeJson(RequestRecord)

const readText = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8")
  } catch {
    return undefined
  }
}

const writeJsonAtomic = (path: string, value: unknown) =>
  StateDir.writeAtomicSync(path, `${JSON.stringify(value, null, 2)}\n`)

const runIdFor = (now: Date, identity: string, suffix: string) =>
  `${now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")}-${identity.slice(0, 8)}${suffix}`

/** The newest run of this identity that has no completed summary, if any. */
const findResumable = (outDir: string, identity: string): string | undefined => {
  let names: string[]
  try {
    names = readdirSync(outDir).sort().reverse()
  } catch {
    return undefined
  }
  for (const name of names) {
    const dir = join(outDir, name)
    if (readMeta(dir)?.identity !== identity) continue
    // the latest of this identity finished: start anew
    if (readStatus(dir) === "completed") return undefined
    return dir
  }
  return undefined
}

const AttemptEvent = Schema.Struct({
  type: Schema.Literals(["attempt", "response"]),
  label: Schema.String,
  attempt: Schema.Number,
  at: Schema.optionalKey(Schema.Number),
  worst: Schema.optionalKey(Schema.String),
  free: Schema.optionalKey(Schema.Boolean),
  /** What a response was billed (exact USD); absent when nothing was. */
  cost: Schema.optionalKey(Schema.NullOr(Schema.String))
})
const decodeAttemptEvent = decodeJson(AttemptEvent)

/**
 * What earlier processes of the run sent, from its events alone (one pass):
 * - `spent`: every response's bill, and every attempt sent and never seen answered (killed in
 *   flight) at the worst case reserved for it, since the provider may have billed it. A reply
 *   billed and then refused by its check, in a request the run stopped before it was recorded,
 *   counts too.
 * - `freeByDay`: free-model attempts by UTC day (`max_free_requests` is a share of each day).
 */
const attemptsIn = (events: ReadonlyArray<string>) => {
  const open = new Map<string, string[]>()
  const freeByDay = new Map<string, number>()
  let billed = Money.zero
  for (const line of events) {
    if (!line.includes('"type":"attempt"') && !line.includes('"type":"response"')) continue
    const e = decodeAttemptEvent(line)
    if (e === undefined) continue
    const key = `${e.label}#${e.attempt}`
    if (e.type === "attempt") {
      open.set(key, [...(open.get(key) ?? []), e.worst ?? "0"])
      if (e.free === true && e.at !== undefined) {
        const day = Policy.utcDay(new Date(e.at))
        freeByDay.set(day, (freeByDay.get(day) ?? 0) + 1)
      }
    } else {
      open.get(key)?.pop()
      if (e.cost != null) billed = Money.add(billed, Money.usd(e.cost))
    }
  }
  const spent = Money.add(billed, Money.sum([...open.values()].flat().map((w) => Money.usd(w))))
  return { spent, freeByDay }
}

const UnsettledEvent = Schema.Struct({
  type: Schema.Literal("ledger-unsettled"),
  fingerprint: Schema.String,
  day: Schema.String,
  id: Schema.String
})
const decodeUnsettled = decodeJson(UnsettledEvent)

export interface UnsettledCount {
  readonly fingerprint: string
  readonly day: string
  readonly id: string
}

/** Free-quota counts an earlier process made as the store died, without hearing the answer. */
const unsettledCounts = (events: ReadonlyArray<string>): UnsettledCount[] =>
  events.flatMap((line) => {
    if (!line.includes('"type":"ledger-unsettled"')) return []
    const e = decodeUnsettled(line)
    return e === undefined ? [] : [{ fingerprint: e.fingerprint, day: e.day, id: e.id }]
  })

/** Finished requests of earlier attempts at a run, by request key, and what those attempts spent. */
export interface Finished {
  readonly previous: ReadonlyMap<string, RequestRecord>
  readonly spent: Money.Usd
}

/** A run dir's finished requests and spending, and its free-quota counts left unsettled (one read of its events). */
export const readFinished = (
  dir: string
): Finished & {
  readonly previous: Map<string, RequestRecord>
  readonly unsettled: UnsettledCount[]
  readonly freeByDay: ReadonlyMap<string, number>
} => {
  const events = (readText(join(dir, "events.ndjson")) ?? "").split("\n")
  const unsettled = unsettledCounts(events)
  const { spent, freeByDay: free } = attemptsIn(events)
  const previous = new Map<string, RequestRecord>()
  let files: string[] = []
  try {
    files = readdirSync(join(dir, "steps"))
  } catch {
    return { previous, spent, unsettled, freeByDay: free } // no step finished
  }
  for (const f of files)
    for (const r of recordsIn(join(dir, "steps", f))) if (r.status === "ok") previous.set(r.key, r)
  return { previous, spent, unsettled, freeByDay: free }
}

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
  /** Free-model attempts earlier attempts at this run sent, by UTC day. */
  private readonly freeByDay: ReadonlyMap<string, number>

  private constructor(dir: string, resumed: boolean, seed: Finished | undefined) {
    this.dir = dir
    this.id = basename(dir)
    this.resumed = resumed
    const own = resumed
      ? readFinished(dir)
      : { previous: new Map<string, RequestRecord>(), spent: Money.zero, unsettled: [], freeByDay: new Map() }
    // a merge starts from its shards' answers and spending
    this.previous = new Map([...(seed?.previous ?? []), ...own.previous])
    this.spentBefore = Money.add(seed?.spent ?? Money.zero, own.spent)
    this.unsettled = own.unsettled
    this.freeByDay = own.freeByDay
  }

  /** Free-model attempts earlier processes of this run sent on a UTC day (`YYYY-MM-DD`). */
  freeSentOn(day: string): number {
    return this.freeByDay.get(day) ?? 0
  }

  /**
   * Opens the run dir: resumes an unfinished run of the same identity, or starts a new one.
   * `seed`: answers (and their cost) from elsewhere the run reuses, as a merge its shards'.
   */
  static open(
    outDir: string,
    identity: string,
    pipeline: string,
    now: Date,
    opts: {
      readonly shard?: { readonly base: string; readonly index: number; readonly count: number }
      readonly seed?: Finished
    } = {}
  ): Records {
    const resumable = findResumable(outDir, identity)
    if (resumable !== undefined) {
      mkdirSync(join(resumable, "steps"), { recursive: true })
      return new Records(resumable, true, opts.seed)
    }
    const shard = opts.shard
    const suffix =
      shard !== undefined ? `-shard${shard.index}of${shard.count}` : opts.seed !== undefined ? "-merge" : ""
    const dir = join(outDir, runIdFor(now, identity, suffix))
    mkdirSync(join(dir, "steps"), { recursive: true })
    writeJsonAtomic(join(dir, "run.json"), {
      identity,
      pipeline,
      started_at: now.toISOString(),
      ...(shard !== undefined ? { base: shard.base, shard: { index: shard.index, count: shard.count } } : {})
    } satisfies RunMeta)
    return new Records(dir, false, opts.seed)
  }

  writePlan(plan: unknown): void {
    writeJsonAtomic(join(this.dir, "plan.json"), plan)
  }

  event(e: RunEvent): void {
    appendFileSync(
      join(this.dir, "events.ndjson"),
      `${JSON.stringify({ ts: new Date().toISOString(), ...e })}\n`
    )
  }

  request(stepId: string, r: RequestRecord): void {
    appendFileSync(join(this.dir, "steps", `${stepId}.jsonl`), `${JSON.stringify(r)}\n`)
  }

  writeOutputs(outputs: unknown): void {
    writeJsonAtomic(join(this.dir, "outputs.json"), outputs)
  }

  writeSummary(summary: unknown): void {
    writeJsonAtomic(join(this.dir, "summary.json"), summary)
  }
}
