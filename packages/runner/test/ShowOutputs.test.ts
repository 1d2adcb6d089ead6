/** `runner show`'s reading of a step's records: one answer per item, in item order. */
import { itemOutputs, renderStep } from "@tollgate/runner/report/ShowOutputs"
import type { RequestRecord } from "@tollgate/runner/run/RequestRecord"
import { describe, expect, it } from "vitest"

const rec = (
  index: number,
  status: RequestRecord["status"],
  fields: Partial<RequestRecord> = {}
): RequestRecord => ({
  index,
  key: `k${index}`,
  status,
  ...fields
})

describe("a step's outputs", () => {
  it("keep one answer per item in item order: an answer beats a failure, a pack's split attempt is left out", () => {
    const outputs = itemOutputs("s", [
      rec(2, "ok", { output: { a: 1 }, model: "m", cost_usd: "0.1" }),
      rec(0, "error", { error: "timeout" }),
      rec(1, "split"),
      rec(1, "ok", { output: "one" }),
      rec(0, "ok", { output: "zero", cached: true }),
      rec(3, "error", { error: "HTTP 400" })
    ])
    expect(outputs).toEqual([
      { step: "s", item: 0, status: "ok", output: "zero", cached: true },
      { step: "s", item: 1, status: "ok", output: "one" },
      { step: "s", item: 2, status: "ok", output: { a: 1 }, model: "m", cost_usd: "0.1" },
      { step: "s", item: 3, status: "error", error: "HTTP 400" }
    ])
    expect(renderStep(outputs)).toBe('[0] zero\n[1] one\n[2] {"a":1}\n[3] error: HTTP 400\n')
  })

  it("a multi-line answer stays under its item's tag", () => {
    expect(renderStep([{ step: "s", item: 10, status: "ok", output: "a\nb" }])).toBe("[10] a\n     b\n")
  })
})
