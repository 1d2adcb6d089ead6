import { describe, expect, it } from "vitest"
import { backoffMs, classify, type Outcome, providerWaitMs } from "../src/Retry.ts"

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
