/** The run's pure pieces: reply checks, tallies, exit codes, and the plan's least time. */
import { decodeReply } from "@tollgate/core/ChatReply"
import { RequestFailed, RunStopped } from "@tollgate/core/Engine"
import { Money, Policy } from "@tollgate/pricing"
import type { Step } from "@tollgate/runner/dsl/Pipeline"
import { minDurationMs } from "@tollgate/runner/plan/Pacing"
import type { StepProjection } from "@tollgate/runner/plan/StepProjection"
import type { ItemResult } from "@tollgate/runner/run/ItemResult"
import { replyCheck } from "@tollgate/runner/run/Reply"
import { exitCodeOf } from "@tollgate/runner/run/Summary"
import { emptyActual, tally } from "@tollgate/runner/run/Tally"
import { describe, expect, it } from "vitest"

const reply = (content: string) => decodeReply({ choices: [{ message: { role: "assistant", content } }] })
const jsonStep = {
  format: "json",
  schema: { type: "object", required: ["n"], properties: { n: { type: "number" } } }
} as unknown as Step

describe("reply checks", () => {
  it("a JSON step's reply must parse and match its schema; a ```json fence is fine", () => {
    const check = replyCheck(jsonStep)
    expect(check(reply('{"n": 1}'))).toEqual({ _tag: "output", output: { n: 1 } })
    // the output is read with the check: the parsed JSON, out of its fence
    expect(check(reply('```json\n{"n": 2}\n```'))).toEqual({ _tag: "output", output: { n: 2 } })
    expect(check(reply("nope"))).toEqual({ _tag: "problem", problem: "the reply is not valid JSON" })
    const bad = check(reply('{"n": "x"}'))
    expect(bad._tag === "problem" ? bad.problem : "").toMatch(
      /^the reply does not match the schema: reply\/n must be number/
    )
    // a text step's reply is checked only for a usable message; its output is the text
    const text = replyCheck({ format: "text", allowTruncated: true, maxTokens: 9 } as unknown as Step)
    expect(text(reply("any text"))).toEqual({ _tag: "output", output: "any text" })
    expect(text(decodeReply({ choices: [] }))).toEqual({
      _tag: "problem",
      problem: "the reply has no choices"
    })
    expect(
      text(decodeReply({ choices: [{ message: { content: "cut" }, finish_reason: "length" }] }))
    ).toEqual({ _tag: "output", output: "cut" })
  })
})

describe("tallies", () => {
  it("count every billed attempt: answered, failed after retries, cached and reused at no cost", () => {
    const completion = (over: object) => ({
      body: {},
      reply: decodeReply({}),
      output: undefined,
      cached: false,
      attempts: 2,
      abandoned: 1,
      rateLimited: 1,
      cost: Money.usd("0.003"),
      costSource: "usage" as const,
      catalogCost: undefined,
      // one of the two attempts timed out: counted at its worst case
      estimated: { catalog: Money.zero, bound: Money.usd("0.001") },
      usage: { promptTokens: 10, completionTokens: 7, reasoningTokens: 0, cachedTokens: 0 },
      model: undefined,
      ...over
    })
    const results: ItemResult[] = [
      { _tag: "done", index: 0, key: "a", completion: completion({}), output: "x" },
      {
        _tag: "done",
        index: 1,
        key: "b",
        completion: completion({ cached: true, attempts: 0, cost: Money.zero }),
        output: "y"
      },
      { _tag: "reused", index: 2, record: { index: 2, key: "c", status: "ok" } },
      { _tag: "invalid", index: 3, message: "template" },
      {
        _tag: "failed",
        index: 4,
        key: "d",
        error: new RequestFailed({
          label: "s[4]",
          attempts: 3,
          abandoned: 0,
          rateLimited: 0,
          costUsd: "0.002",
          message: "bad"
        })
      },
      { _tag: "failed", index: 5, key: "e", error: new RunStopped({ reason: "budget", message: "stop" }) }
    ]
    // a fold over the step's results
    const a = results.reduce(tally, emptyActual())
    expect({
      ...a,
      cost: Money.toPlain(a.cost),
      costCatalog: Money.toPlain(a.costCatalog),
      costBound: Money.toPlain(a.costBound)
    }).toEqual({
      costCatalog: "0",
      costBound: "0.001",
      truncated: 0,
      requests: 2 + 3,
      cached: 1,
      reused: 1,
      retries: 1 + 2,
      abandoned: 1,
      rateLimited: 1,
      failed: 2,
      skipped: false,
      cost: "0.005",
      promptTokens: 10,
      completionTokens: 7,
      completed: 3,
      freeRouted: 0,
      paidRouted: 0
    })
  })

  it("an overflow step counts its answers by route, and the free attempts before a paid fallback as requests", () => {
    const completion = {
      body: {},
      reply: decodeReply({}),
      output: undefined,
      cached: false,
      attempts: 1,
      abandoned: 0,
      rateLimited: 0,
      cost: Money.usd("0.001"),
      costSource: "usage" as const,
      catalogCost: undefined,
      estimated: { catalog: Money.zero, bound: Money.zero },
      usage: undefined,
      model: undefined
    }
    const results: ItemResult[] = [
      { _tag: "done", index: 0, key: "a", completion, output: "x", route: { to: "free" } },
      { _tag: "done", index: 1, key: "b", completion, output: "y", route: { to: "paid", why: "deadline" } },
      {
        _tag: "done",
        index: 2,
        key: "c",
        completion,
        output: "z",
        route: { to: "paid", why: "the free model failed: HTTP 404", freeAttempts: 2 }
      }
    ]
    const a = results.reduce(tally, emptyActual())
    expect({ free: a.freeRouted, paid: a.paidRouted, requests: a.requests }).toEqual({
      free: 1,
      paid: 2,
      requests: 3 + 2
    })
  })
})

describe("exit codes", () => {
  it("0 completed, 130 interrupted, 1 failed or out of credits or key refused or store lost, 3 a gate", () => {
    expect(exitCodeOf({ status: "completed", stopKind: undefined })).toBe(0)
    expect(exitCodeOf({ status: "interrupted", stopKind: "interrupted" })).toBe(130)
    expect(exitCodeOf({ status: "failed", stopKind: "step-failed" })).toBe(1)
    for (const kind of ["credits", "unauthorized", "store"])
      expect(exitCodeOf({ status: "stopped", stopKind: kind })).toBe(1)
    for (const kind of ["budget", "free-quota", "daily-free-quota"])
      expect(exitCodeOf({ status: "stopped", stopKind: kind })).toBe(3)
  })
})

describe("least time the limits allow", () => {
  const step = (model: string, free: boolean, requests: number, cached = 0) =>
    ({ model, free, requests, cached }) as unknown as StepProjection
  it("each bucket sends bursts up to its limit, a window (plus margin) apart; free models share the account's 20 rpm", () => {
    const free = (a: number, b: number) =>
      minDurationMs([step("a:free", true, a), step("b:free", true, b)], Policy.defaultPolicy, undefined, "fp")
    expect(free(12, 8)).toBe(0) // 20 fit one window: no wait at all
    expect(free(13, 8)).toBe(60_500) // the 21st waits a window and the 500 ms margin
    expect(free(30, 11)).toBe(2 * 60_500)
    // 5 req/s at a $5 balance: 11 requests (1 cached) are two bursts of 5, 1.1 s apart
    expect(minDurationMs([step("x/y", false, 11, 1)], Policy.defaultPolicy, 5, "fp")).toBe(1_100)
    expect(minDurationMs([step("x/y", false, 6)], Policy.defaultPolicy, undefined, "fp")).toBe(0)
  })
})
