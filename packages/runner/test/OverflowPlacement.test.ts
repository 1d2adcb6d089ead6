/** Free first with a deadline: the free capacity of each day before it, and where each request goes. Pure. */

import { parseDeadline } from "@tollgate/runner/dsl/Deadline"
import { freeCapacity, less, place } from "@tollgate/runner/plan/OverflowPlacement"
import { describe, expect, it } from "vitest"

const at = (iso: string) => Date.parse(iso)

describe("free capacity before a deadline", () => {
  const base = { leftToday: 50, perDay: 50, maxFreeRequests: undefined, rpm: 20, windowMs: 60_000 }

  it("600 items at 50 a day, due tomorrow 09:00: 50 today, 50 tomorrow, 500 paid (the issue's example)", () => {
    const days = freeCapacity({
      ...base,
      now: at("2026-12-04T17:00:00Z"),
      deadline: at("2026-12-05T09:00:00Z")
    })
    expect(days.map((d) => [d.date, d.free])).toEqual([
      ["2026-12-04", 50],
      ["2026-12-05", 50]
    ])
    expect(place(600, days)).toEqual({
      freeByDay: [
        { date: "2026-12-04", requests: 50 },
        { date: "2026-12-05", requests: 50 }
      ],
      free: 100,
      paid: 500
    })
  })

  it("the free rate limit caps what the hours before the deadline can take", () => {
    // 2 minutes left today and a deadline 90 s after midnight: 20 + 20 today (two windows), 40 tomorrow (two)
    const days = freeCapacity({
      ...base,
      now: at("2026-12-04T23:58:00Z"),
      deadline: at("2026-12-05T00:01:30Z")
    })
    expect(days.map((d) => d.free)).toEqual([40, 40])
  })

  it("today's quota left, the run's daily share, a deadline already passed", () => {
    const now = at("2026-12-04T10:00:00Z")
    const days = freeCapacity({
      ...base,
      leftToday: 7,
      maxFreeRequests: 30,
      now,
      deadline: at("2026-12-07T00:00:00Z")
    })
    expect(days.map((d) => d.free)).toEqual([7, 30, 30])
    expect(freeCapacity({ ...base, now, deadline: now - 1 })).toEqual([])
    expect(place(5, [])).toEqual({ freeByDay: [], free: 0, paid: 5 })
  })

  it("steps share the account's quota: what one takes, the next cannot", () => {
    const days = freeCapacity({
      ...base,
      now: at("2026-12-04T17:00:00Z"),
      deadline: at("2026-12-05T09:00:00Z")
    })
    const first = place(70, days)
    expect(place(100, less(days, first))).toEqual({
      freeByDay: [{ date: "2026-12-05", requests: 30 }],
      free: 30,
      paid: 70
    })
  })

  it("a deadline is an instant with its zone or a duration from now", () => {
    const now = at("2026-12-04T17:00:00Z")
    expect(parseDeadline("2026-12-05T09:00Z", now)).toBe(at("2026-12-05T09:00:00Z"))
    expect(parseDeadline("2026-12-05T10:00:00+01:00", now)).toBe(at("2026-12-05T09:00:00Z"))
    expect(parseDeadline("36h", now)).toBe(now + 36 * 3_600_000)
    expect(parseDeadline("2026-12-05T09:00", now)).toBeUndefined() // no zone: ambiguous
    expect(parseDeadline("tomorrow", now)).toBeUndefined()
    // a day or an hour that does not exist is refused, not rolled over
    expect(parseDeadline("2026-13-05T09:00Z", now)).toBeUndefined()
    expect(parseDeadline("2026-02-30T09:00Z", now)).toBeUndefined()
    expect(parseDeadline("2026-12-05T24:00Z", now)).toBeUndefined()
    expect(parseDeadline("2026-12-05T09:00:00.250Z", now)).toBe(at("2026-12-05T09:00:00.250Z"))
  })
})
