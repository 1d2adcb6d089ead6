/** Resume accounting read back from a run's files: decoded as JSON, damage refused, the larger record wins. */
import { Money } from "@tollgate/pricing"
import { RecordDamage, tallyEvents, tallyRecords } from "@tollgate/runner/run/Spending"
import { describe, expect, it } from "vitest"

const lines = (...xs: ReadonlyArray<unknown>) => `${xs.map((x) => JSON.stringify(x)).join("\n")}\n`
const attempt = (label: string, n: number, worst: string, extra: object = {}) => ({
  type: "attempt",
  label,
  attempt: n,
  at: Date.UTC(2026, 11, 4, 10),
  worst,
  ...extra
})
const response = (label: string, n: number, cost: string | null) => ({
  type: "response",
  label,
  attempt: n,
  at: 0,
  cost
})

describe("the events' spending", () => {
  it("counts every bill, and an attempt never answered at its worst case", () => {
    const t = tallyEvents(
      "e",
      lines(
        attempt("a[0]", 1, "0.5"),
        response("a[0]", 1, "0.1"),
        attempt("a[1]", 1, "0.5", { free: true }),
        response("a[1]", 1, null),
        attempt("a[1]", 2, "0.5") // killed in flight
      )
    )
    expect(Money.toPlain(t.spent)).toBe("0.6")
    expect(t.freeByDay.get("2026-12-04")).toBe(1)
  })

  it("reads JSON as JSON: the same events re-serialized with spaces count the same", () => {
    const events = [attempt("a[0]", 1, "0.5"), response("a[0]", 1, "0.1"), attempt("a[1]", 1, "0.25")]
    const spaced = `${events.map((e) => JSON.stringify(e, null, 1).replace(/\n\s*/g, " ")).join("\n")}\n`
    expect(spaced).toContain('"type": "attempt"')
    expect(Money.toPlain(tallyEvents("e", spaced).spent)).toBe("0.35")
  })

  it("a line cut short by a kill is skipped; a negative or non-numeric cost is damage naming file and line", () => {
    expect(Money.toPlain(tallyEvents("e", `${lines(response("a[0]", 1, "0.1"))}{"type":"resp`).spent)).toBe(
      "0.1"
    )
    expect(() =>
      tallyEvents("runs/x/events.ndjson", lines(attempt("a", 1, "0.1"), response("a", 1, "-0.2")))
    ).toThrow(/^runs\/x\/events\.ndjson:2: cost "-0\.2" is not a non-negative amount in USD/)
    expect(() => tallyEvents("e", lines(attempt("a", 1, "lots")))).toThrow(RecordDamage)
    expect(() => tallyEvents("e", lines({ ...response("a", 1, null), cost: 0.5 }))).toThrow(
      /cost 0\.5 is not/
    )
  })
})

describe("the step records' spending", () => {
  const rec = (index: number, cost: string, extra: object = {}) => ({
    index,
    key: `k${index}`,
    status: "ok",
    cost_usd: cost,
    ...extra
  })

  it("sums every line (identical ones may be two paid requests), leaving reused answers to where they were paid", () => {
    const text = lines(rec(0, "0.1"), rec(0, "0.1"), rec(1, "0.2"), rec(1, "0.2", { reused: true }), {
      index: 2,
      key: "k2",
      status: "error",
      cost_usd: "0.05"
    })
    expect(Money.toPlain(tallyRecords("s", text))).toBe("0.45")
  })

  it("a negative cost in a record is damage naming the file and line", () => {
    expect(() => tallyRecords("runs/x/steps/a.jsonl", lines(rec(0, "0.1"), rec(1, "-1")))).toThrow(
      /^runs\/x\/steps\/a\.jsonl:2: cost_usd "-1" is not a non-negative amount/
    )
  })
})

describe("requests matched by their identity as data", () => {
  const typed = (type: "attempt" | "response", ref: object, n: number, money: string) =>
    type === "attempt"
      ? { type, ...ref, attempt: n, at: 0, worst: money }
      : { type, ...ref, attempt: n, at: 0, cost: money }

  it("an answer closes the attempt of the same step, item and pack; another pack of the same first item stays open", () => {
    const t = tallyEvents(
      "e",
      lines(
        typed("attempt", { step: "a", item: 0, pack: 10 }, 1, "0.5"),
        typed("attempt", { step: "a", item: 0, pack: 5 }, 1, "0.25"),
        typed("response", { step: "a", item: 0, pack: 10 }, 1, "0.1"),
        typed("attempt", { step: "b" }, 1, "0.3"),
        typed("response", { step: "b" }, 1, "0.2")
      )
    )
    // 0.1 + 0.2 billed, the 5-item pack never answered: its worst case
    expect(Money.toPlain(t.spent)).toBe("0.55")
  })

  it("a run dir from before events were typed (labels) is read as it was", () => {
    const t = tallyEvents(
      "e",
      lines(attempt("a[0]", 1, "0.5"), response("a[0]", 1, "0.1"), attempt("a[1]", 1, "0.5"))
    )
    expect(Money.toPlain(t.spent)).toBe("0.6")
  })
})
