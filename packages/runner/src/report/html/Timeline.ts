/**
 * What a run's events say over time, shaped for the report: each attempt from its send to its
 * answer (answered, refused with why, failed), each announced wait and the limit it waited for,
 * attempts per time slot, and free-model attempts per UTC day. Pure.
 */
import { attemptKey, type JobRef, labelOf } from "@tollgate/core/Job"
import type { EventLine } from "../../run/RunDir.ts"
import type { Lane, Span } from "./Svg.ts"

export interface WaitReason {
  readonly reason: string
  readonly count: number
  readonly totalMs: number
}

export interface Timeline {
  readonly startMs: number
  readonly durationMs: number
  readonly lanes: ReadonlyArray<Lane>
  /** Waits for the next day's quota or a provider budget: across every lane. */
  readonly bands: ReadonlyArray<Span>
  readonly attempts: number
  readonly refused: number
  readonly failed: number
  /** Send times (ms from the start), for the per-slot counts. */
  readonly sends: ReadonlyArray<number>
  readonly waits: ReadonlyArray<WaitReason>
  /** The refusals and failures, with why: the timeline's text alternative. */
  readonly problems: ReadonlyArray<{ readonly at: number; readonly label: string; readonly what: string }>
  /** How many spans were left out of the drawing (a long run); the counts keep them. */
  readonly omitted: number
}

/** Most rows a step's lane takes; more concurrent requests share the last row. */
const MAX_ROWS = 32
/** Most spans drawn; a bigger run's timeline draws the first ones and says how many it left out. */
const MAX_SPANS = 6_000

const refOf = (e: EventLine): JobRef => ({
  step: e.step ?? "",
  ...(e.item === undefined ? {} : { item: e.item }),
  ...(e.pack === undefined ? {} : { pack: e.pack })
})

const kindOf = (status: number | undefined): Span["kind"] =>
  status === 200 ? "ok" : status === 429 ? "refused" : "failed"

/** Spans of each step, packed greedily into rows that do not overlap. */
const packRows = (spans: ReadonlyArray<Span>): Span[][] => {
  const rows: Span[][] = []
  const ends: number[] = []
  for (const s of [...spans].sort((a, b) => a.start - b.start)) {
    let i = ends.findIndex((end) => end <= s.start)
    if (i === -1) i = rows.length < MAX_ROWS ? rows.length : MAX_ROWS - 1
    rows[i] ??= []
    rows[i]!.push(s)
    ends[i] = Math.max(ends[i] ?? 0, s.end)
  }
  return rows
}

/** The first instant of a run's events (a loop, not Math.min(...): there can be more than the stack holds as arguments). */
const firstInstant = (events: ReadonlyArray<EventLine>): number => {
  let start = Number.POSITIVE_INFINITY
  for (const e of events) start = Math.min(start, e.at ?? Date.parse(e.ts), Date.parse(e.ts))
  return start
}

/** What the events say, read one at a time: each kind of event has its method. */
class Reading {
  endMs: number
  readonly sent = new Map<string, { at: number; ref: JobRef; attempt: number; free: boolean }>()
  readonly why = new Map<string, string>()
  readonly spans = new Map<string, Span[]>()
  readonly bands: Span[] = []
  readonly sends: number[] = []
  readonly waits = new Map<string, { count: number; totalMs: number }>()
  readonly problems: Array<{ at: number; label: string; what: string; key: string }> = []
  refused = 0
  failed = 0
  drawn = 0
  omitted = 0

  readonly startMs: number

  constructor(startMs: number) {
    this.startMs = startMs
    this.endMs = startMs
  }

  /** A span in a lane, unless the drawing is full (the counts keep it). */
  add(lane: string, s: Span) {
    if (this.drawn >= MAX_SPANS) {
      this.omitted++
      return
    }
    this.drawn++
    const list = this.spans.get(lane) ?? []
    list.push(s)
    this.spans.set(lane, list)
  }

  read(e: EventLine) {
    const at = e.at ?? Date.parse(e.ts)
    this.endMs = Math.max(this.endMs, at)
    if (e.type === "step-start" && e.step !== undefined && !this.spans.has(e.step)) {
      this.spans.set(e.step, [])
      this.spans.set(`${e.step} · waiting`, [])
    } else if (e.type === "attempt" && e.attempt !== undefined) {
      const ref = refOf(e)
      this.sent.set(attemptKey(ref, e.attempt), { at, ref, attempt: e.attempt, free: e.free === true })
      this.sends.push(at - this.startMs)
    } else if (e.type === "retry" && e.attempt !== undefined)
      this.why.set(attemptKey(refOf(e), e.attempt), `${e.reason ?? "retry"}: ${e.message ?? ""}`.trim())
    else if (e.type === "response" && e.attempt !== undefined) this.response(e, e.attempt, at)
    else if (e.type === "waiting" && e.delayMs !== undefined) this.waiting(e, e.delayMs, at)
    else if (e.type === "quota-wait" && e.until !== undefined) this.quotaWait(e, e.until, at)
  }

  /** An attempt's answer: its span from send to answer, and a problem when it was not a 200. */
  response(e: EventLine, attempt: number, at: number) {
    const key = attemptKey(refOf(e), attempt)
    const s = this.sent.get(key)
    if (s === undefined) return
    const kind = kindOf(e.status ?? undefined)
    const label = labelOf(s.ref)
    const status = e.status === undefined || e.status === null ? "no answer" : `HTTP ${e.status}`
    if (kind === "refused") this.refused++
    if (kind === "failed") this.failed++
    if (kind !== "ok") this.problems.push({ at: s.at - this.startMs, label, what: status, key })
    this.add(s.ref.step, {
      start: s.at - this.startMs,
      end: at - this.startMs,
      kind,
      title: `${label} attempt ${s.attempt}: ${status} after ${at - s.at} ms${s.free ? " (free)" : ""}${e.cost === undefined ? "" : `, $${e.cost}`}`
    })
  }

  /** A wait announced for a limit: a span in the step's waiting lane, counted by its reason. */
  waiting(e: EventLine, delayMs: number, at: number) {
    const reason = e.reason ?? "a limit"
    const w = this.waits.get(reason) ?? { count: 0, totalMs: 0 }
    this.waits.set(reason, { count: w.count + 1, totalMs: w.totalMs + delayMs })
    this.endMs = Math.max(this.endMs, at + delayMs)
    this.add(`${e.step ?? ""} · waiting`, {
      start: at - this.startMs,
      end: at + delayMs - this.startMs,
      kind: "wait",
      title: `${labelOf(refOf(e))} waits ${delayMs} ms: ${reason}`
    })
  }

  /** A wait for the day's quota or a provider budget: a band across every lane. */
  quotaWait(e: EventLine, until: number, at: number) {
    const what = e.what === "provider-budget" ? "the provider's budget resets" : "the day's free quota resets"
    this.bands.push({
      start: at - this.startMs,
      end: until - this.startMs,
      kind: "wait",
      title: `waits until ${new Date(until).toISOString()}: ${what}`
    })
  }
}

export const timelineOf = (events: ReadonlyArray<EventLine>): Timeline => {
  const r = new Reading(firstInstant(events))
  for (const e of events) r.read(e)
  // a refusal's reason comes with the retry that follows it
  const described = r.problems.map(({ key, ...p }) => {
    const reason = r.why.get(key)
    return reason === undefined ? p : { ...p, what: `${p.what}, ${reason}` }
  })
  return {
    startMs: r.startMs,
    durationMs: Math.max(0, r.endMs - r.startMs),
    lanes: [...r.spans]
      .filter(([, list]) => list.length > 0)
      .map(([lane, list]) => ({ label: lane, rows: packRows(list) })),
    bands: r.bands,
    attempts: r.sends.length,
    refused: r.refused,
    failed: r.failed,
    sends: r.sends,
    waits: [...r.waits].map(([reason, w]) => ({ reason, ...w })).sort((a, b) => b.totalMs - a.totalMs),
    problems: described.sort((a, b) => a.at - b.at),
    omitted: r.omitted
  }
}

const SLOTS_MS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400].map(
  (s) => s * 1000
)

/** Attempts sent per slot: the slot the smallest round length that keeps 60 slots or fewer. */
export const perSlot = (
  sends: ReadonlyArray<number>,
  durationMs: number
): { readonly slotMs: number; readonly counts: ReadonlyArray<number> } => {
  const slotMs = SLOTS_MS.find((s) => durationMs / s <= 60) ?? 86_400_000
  const counts = new Array<number>(Math.max(1, Math.ceil((durationMs + 1) / slotMs))).fill(0)
  for (const t of sends) counts[Math.min(counts.length - 1, Math.floor(t / slotMs))]!++
  return { slotMs, counts }
}

/** Free-model attempts per UTC day (every attempt counts against the quota, failed ones too). */
export const freePerDay = (
  events: ReadonlyArray<EventLine>
): ReadonlyArray<{ day: string; count: number }> => {
  const days = new Map<string, number>()
  for (const e of events)
    if (e.type === "attempt" && e.free === true) {
      const day = new Date(e.at ?? Date.parse(e.ts)).toISOString().slice(0, 10)
      days.set(day, (days.get(day) ?? 0) + 1)
    }
  return [...days].map(([day, count]) => ({ day, count })).sort((a, b) => a.day.localeCompare(b.day))
}
