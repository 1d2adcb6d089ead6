/**
 * What earlier processes of a run spent, read back from its files for a resume or a merge: every
 * line decoded as JSON (never matched as text), a cost that is not a plain non-negative decimal
 * refused as damage naming the file and line. Pure: the texts come in, the tallies go out.
 *
 * Two records hold spending, and the larger wins, so losing either one cannot lower it:
 * - the events (`events.ndjson`): every response's bill, and every attempt sent and never seen
 *   answered (killed in flight) at the worst case reserved for it, since the provider may have
 *   billed it;
 * - the step records (`steps/*.jsonl`): each finished request's cost, its retries included.
 */
import { attemptKey } from "@tollgate/core/Job"
import * as Money from "@tollgate/pricing/Money"
import * as Policy from "@tollgate/pricing/Policy"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/** A run file whose spending cannot be trusted: resuming on it could pass the budget. */
export class RecordDamage extends Error {
  constructor(file: string, line: number, what: string) {
    super(
      `${file}:${line}: ${what}; the run's spending cannot be read back, so it is not resumed (move the run dir aside to start anew)`
    )
  }
}

/** One line of a JSON-lines file, parsed; undefined for a blank line or one a kill cut short. */
const parseLine = (line: string): unknown => {
  if (line.trim() === "") return undefined
  try {
    return JSON.parse(line)
  } catch {
    return undefined
  }
}

/** A cost as recorded: a plain non-negative decimal string, else damage. */
const costOf = (value: unknown, file: string, line: number, field: string): Money.Usd => {
  const parsed = typeof value === "string" ? Money.parse(value) : undefined
  if (parsed === undefined)
    throw new RecordDamage(
      file,
      line,
      `${field} ${JSON.stringify(value)} is not a non-negative amount in USD`
    )
  return parsed
}

const AttemptEvent = Schema.Struct({
  type: Schema.Literals(["attempt", "response"]),
  /** Which request (`JobRef`); a run dir from before it was typed has `label` instead. */
  step: Schema.optionalKey(Schema.String),
  item: Schema.optionalKey(Schema.Number),
  pack: Schema.optionalKey(Schema.Number),
  label: Schema.optionalKey(Schema.String),
  attempt: Schema.Number,
  at: Schema.optionalKey(Schema.Number),
  worst: Schema.optionalKey(Schema.Unknown),
  free: Schema.optionalKey(Schema.Boolean),
  cost: Schema.optionalKey(Schema.Unknown)
})
const decodeAttempt = Schema.decodeUnknownOption(AttemptEvent)

const UnsettledEvent = Schema.Struct({
  type: Schema.Literal("ledger-unsettled"),
  fingerprint: Schema.String,
  day: Schema.String,
  id: Schema.String
})
const decodeUnsettled = Schema.decodeUnknownOption(UnsettledEvent)

export interface UnsettledCount {
  readonly fingerprint: string
  readonly day: string
  readonly id: string
}

export interface EventTally {
  /** Every response's bill, and every attempt never seen answered at its worst case. */
  readonly spent: Money.Usd
  /** Free-model attempts by UTC day (`max_free_requests` is a share of each day). */
  readonly freeByDay: ReadonlyMap<string, number>
  /** Free-quota counts an earlier process made as the store died, without hearing the answer. */
  readonly unsettled: ReadonlyArray<UnsettledCount>
}

/** The spending, free attempts and unsettled counts of a run's events. */
export const tallyEvents = (file: string, text: string): EventTally => {
  const open = new Map<string, Money.Usd[]>()
  const freeByDay = new Map<string, number>()
  const unsettled: UnsettledCount[] = []
  let billed = Money.zero
  text.split("\n").forEach((line, i) => {
    const json = parseLine(line)
    const u = Option.getOrUndefined(decodeUnsettled(json))
    if (u !== undefined) unsettled.push({ fingerprint: u.fingerprint, day: u.day, id: u.id })
    const e = Option.getOrUndefined(decodeAttempt(json))
    if (e === undefined) return
    // an attempt's send is matched to its answer by the request's identity, as data
    const id =
      e.step !== undefined
        ? attemptKey(
            {
              step: e.step,
              ...(e.item !== undefined ? { item: e.item } : {}),
              ...(e.pack !== undefined ? { pack: e.pack } : {})
            },
            e.attempt
          )
        : attemptKey({ step: `label:${e.label ?? ""}` }, e.attempt)
    if (e.type === "attempt") {
      const worst = e.worst === undefined ? Money.zero : costOf(e.worst, file, i + 1, "worst")
      open.set(id, [...(open.get(id) ?? []), worst])
      if (e.free === true && e.at !== undefined) {
        const day = Policy.utcDay(new Date(e.at))
        freeByDay.set(day, (freeByDay.get(day) ?? 0) + 1)
      }
      return
    }
    open.get(id)?.pop()
    if (e.cost != null) billed = Money.add(billed, costOf(e.cost, file, i + 1, "cost"))
  })
  return { spent: Money.add(billed, Money.sum([...open.values()].flat())), freeByDay, unsettled }
}

/**
 * The spending in one step's records: every line's `cost_usd` (two identical lines may be two
 * paid requests, as an item that failed alike in two processes; a line copied by hand counts
 * twice, on the safe side), except answers reused from an earlier process or a shard, whose cost
 * counts where they were paid.
 */
export const tallyRecords = (file: string, text: string): Money.Usd => {
  let spent = Money.zero
  text.split("\n").forEach((line, i) => {
    const json = parseLine(line)
    if (typeof json !== "object" || json === null || !("cost_usd" in json)) return
    if ((json as { reused?: unknown }).reused === true) return
    spent = Money.add(spent, costOf(json.cost_usd, file, i + 1, "cost_usd"))
  })
  return spent
}
