/** The HTML report's pure parts: the timeline read from events, the slots, the free days, the scales, and escaping. */
import { esc } from "@tollgate/runner/report/html/Page"
import { ticks } from "@tollgate/runner/report/html/Svg"
import { freePerDay, perSlot, timelineOf } from "@tollgate/runner/report/html/Timeline"
import type { EventLine } from "@tollgate/runner/run/RunDir"
import { describe, expect, it } from "vitest"

const T0 = Date.parse("2026-12-04T23:59:58Z")
const ev = (type: string, ms: number, fields: Partial<EventLine> = {}): EventLine => ({
  ts: new Date(T0 + ms).toISOString(),
  type,
  at: T0 + ms,
  ...fields
})

const events: EventLine[] = [
  ev("step-start", 0, { step: "s" }),
  ev("attempt", 10, { step: "s", item: 0, attempt: 1, free: true }),
  ev("attempt", 20, { step: "s", item: 1, attempt: 1, free: true }),
  ev("response", 110, { step: "s", item: 0, attempt: 1, status: 429 }),
  ev("retry", 111, {
    step: "s",
    item: 0,
    attempt: 1,
    reason: "rate-limited",
    message: "limited to 20 per minute"
  }),
  ev("waiting", 112, {
    step: "s",
    item: 0,
    delayMs: 1_500,
    reason: "20 per 60 s (free models, account-wide)"
  }),
  ev("response", 300, { step: "s", item: 1, attempt: 1, status: 200, cost: "0" }),
  ev("attempt", 2_100, { step: "s", item: 0, attempt: 2, free: true }),
  ev("response", 2_400, { step: "s", item: 0, attempt: 2 }),
  ev("attempt", 2_500, { step: "s", item: 0, attempt: 3, free: true }),
  ev("response", 2_600, { step: "s", item: 0, attempt: 3, status: 200 })
]

describe("the report's timeline", () => {
  it("pairs each attempt with its answer, names why one was refused, and counts the waits by limit", () => {
    const t = timelineOf(events)
    expect(t.startMs).toBe(T0)
    expect(t.durationMs).toBe(2_600)
    expect(t.attempts).toBe(4)
    expect(t.refused).toBe(1)
    expect(t.failed).toBe(1)
    const [answers, waits] = t.lanes
    expect(answers!.label).toBe("s")
    const spans = answers!.rows.flat().sort((a, b) => a.start - b.start)
    expect(spans.map((s) => [s.kind, s.start, s.end])).toEqual([
      ["refused", 10, 110],
      ["ok", 20, 300],
      ["failed", 2_100, 2_400],
      ["ok", 2_500, 2_600]
    ])
    // two overlapping requests take two rows; later ones reuse the first free row
    expect(answers!.rows).toHaveLength(2)
    expect(waits!.label).toBe("s · waiting")
    expect(waits!.rows.flat()).toEqual([expect.objectContaining({ kind: "wait", start: 112, end: 1_612 })])
    expect(t.waits).toEqual([{ reason: "20 per 60 s (free models, account-wide)", count: 1, totalMs: 1_500 }])
    expect(t.problems).toEqual([
      { at: 10, label: "s[0]", what: "HTTP 429, rate-limited: limited to 20 per minute" },
      { at: 2_100, label: "s[0]", what: "no answer" }
    ])
  })

  it("reads a long run's events (200,000) without running out of stack", () => {
    const many = Array.from({ length: 200_000 }, (_, i) => ev("cache-hit", i, { step: "s", item: i }))
    expect(timelineOf(many).durationMs).toBe(199_999)
  })

  it("counts attempts per round slot, at most 60 slots, and free attempts per UTC day", () => {
    expect(perSlot([0, 999, 1_000, 2_600], 2_600)).toEqual({ slotMs: 1_000, counts: [2, 1, 1] })
    const hour = perSlot([0, 3_599_999], 3_600_000)
    expect(hour.slotMs).toBe(60_000)
    expect(hour.counts).toHaveLength(61)
    // the run crosses midnight UTC: the quota is counted per day, failed attempts too
    expect(freePerDay(events)).toEqual([
      { day: "2026-12-04", count: 2 },
      { day: "2026-12-05", count: 2 }
    ])
  })

  it("scales end at or above the largest value; text is escaped", () => {
    expect(ticks(0.0035)).toEqual([0, 0.001, 0.002, 0.003, 0.004])
    expect(ticks(40, 4)).toEqual([0, 10, 20, 30, 40])
    expect(ticks(0)).toEqual([0])
    expect(esc(`<a href="x">'&'</a>`)).toBe("&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;")
  })
})
