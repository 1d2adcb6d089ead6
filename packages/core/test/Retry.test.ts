import { describe, expect, it } from "vitest"
import { backoffMs, classify, type Outcome, providerWaitMs, rateHeaders } from "../src/Retry.ts"

const res = (status: number, headers: Record<string, string> = {}, body: unknown = {}): Outcome => ({
  _tag: "Response",
  status,
  headers,
  body
})
const ctx = { attempt: 1, nowMs: 1_000_000, random: 0.5 }

describe("Retry.classify", () => {
  it("429: Retry-After seconds, else X-RateLimit-Reset epoch ms, else backoff", () => {
    expect(classify(res(429, { "Retry-After": "7" }), ctx)).toMatchObject({
      _tag: "Retry",
      delayMs: 7000,
      fromProvider: true
    })
    expect(classify(res(429, { "X-RateLimit-Reset": "1012000" }), ctx)).toMatchObject({
      delayMs: 12_000,
      fromProvider: true
    })
    const d = classify(res(429), ctx)
    expect(d).toMatchObject({ _tag: "Retry", fromProvider: false, reason: "rate-limited" })
  })

  it("a rate-limit 429 carries the limit it states: in its message, else X-RateLimit-Limit", () => {
    const said = { error: { code: 429, message: "Rate limit exceeded: limited to 8 requests per minute" } }
    expect(classify(res(429, { "Retry-After": "3" }, said), ctx)).toMatchObject({
      _tag: "Retry",
      limitHint: 8
    })
    expect(classify(res(429, { "x-ratelimit-limit": "12" }), ctx)).toMatchObject({ limitHint: 12 })
    expect(classify(res(429), ctx)).toMatchObject({ limitHint: undefined })
    expect(
      rateHeaders({ "X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "99" })
    ).toEqual({
      limit: 20,
      remaining: 0,
      resetAtMs: 99
    })
    expect(rateHeaders({ "x-ratelimit-remaining": "" })).toEqual({
      limit: undefined,
      remaining: undefined,
      resetAtMs: undefined
    })
  })

  it("403 for an exceeded workspace or guardrail budget stops the run; other 403s fail the request", () => {
    const budget = { error: { code: 403, message: "Workspace monthly budget of $500.00 exceeded" } }
    expect(classify(res(403, {}, budget), ctx)).toMatchObject({ _tag: "Stop", reason: "provider-budget" })
    const moderation = { error: { code: 403, message: "Your input was flagged by moderation" } }
    expect(classify(res(403, {}, moderation), ctx)).toMatchObject({ _tag: "Fail", status: 403 })
  })

  it("429 free-models-per-day stops the run with the reset time; never a retry", () => {
    const d = classify(
      res(429, {}, { error: { code: 429, message: "Rate limit exceeded: free-models-per-day" } }),
      ctx
    )
    expect(d).toMatchObject({ _tag: "Stop", reason: "daily-free-quota", resetAtMs: 86_400_000 })
  })

  it("402 and 401 stop the run; 400/403/404 fail the request; 408/5xx retry", () => {
    expect(classify(res(402), ctx)).toMatchObject({ _tag: "Stop", reason: "credits" })
    expect(classify(res(401), ctx)).toMatchObject({ _tag: "Stop", reason: "unauthorized" })
    for (const s of [400, 403, 404]) expect(classify(res(s), ctx)._tag).toBe("Fail")
    for (const s of [408, 500, 502, 503]) expect(classify(res(s), ctx)._tag).toBe("Retry")
    expect(classify({ _tag: "Transport", reason: "timeout", message: "t" }, ctx)).toMatchObject({
      _tag: "Retry",
      reason: "timeout"
    })
  })

  it("a 200 carrying an error object is an error", () => {
    expect(classify(res(200, {}, { error: { code: 502, message: "provider down" } }), ctx)).toMatchObject({
      _tag: "Retry",
      reason: "server-error"
    })
    expect(classify(res(200, {}, { choices: [] }), ctx)._tag).toBe("Success")
  })

  it("backoff grows exponentially, is capped, and jitters within [1/4, 1] of its ceiling", () => {
    expect(backoffMs(1, 0)).toBe(250)
    expect(backoffMs(1, 1)).toBe(1000)
    expect(backoffMs(3, 1)).toBe(4000)
    expect(backoffMs(30, 1)).toBe(60_000)
    expect(providerWaitMs({ "retry-after": "Thu, 01 Jan 1970 00:16:50 GMT" }, 1_000_000)).toBe(10_000)
  })
})
