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

describe("Retry.classify: OpenRouter's credit limits by metadata, not status alone", () => {
  const err = (code: number, message: string, metadata: object) => ({ error: { code, message, metadata } })

  it("402 in_flight_budget_exhausted: a wait-and-retry, the provider's Retry-After as the wait", () => {
    const body = err(402, "in flight", {
      reason: "in_flight_budget_exhausted",
      limit_source: "openrouter_in_flight_budget"
    })
    expect(classify(res(402, { "Retry-After": "2" }, body), ctx)).toMatchObject({
      _tag: "Retry",
      reason: "in-flight-budget",
      delayMs: 2000,
      fromProvider: true
    })
  })

  it("402 weight_exceeds_budget: a stop that keeps what the provider could afford", () => {
    const body = err(402, "You requested up to 64000 tokens, but can only afford 2666", {
      reason: "weight_exceeds_budget",
      limit_source: "openrouter_credits"
    })
    expect(classify(res(402, {}, body), ctx)).toMatchObject({
      _tag: "Stop",
      reason: "request-too-big",
      affordTokens: 2666
    })
  })

  it("402 without a known reason stays the credits stop; a key limit is a budget layer", () => {
    expect(classify(res(402, {}, err(402, "Insufficient credits", {})), ctx)).toMatchObject({
      reason: "credits"
    })
    expect(
      classify(res(402, {}, err(402, "Key limit exceeded", { limit_source: "openrouter_key_limit" })), ctx)
    ).toMatchObject({ _tag: "Stop", reason: "provider-budget" })
  })

  it("403 naming a budget layer: a stop with the layer, its figures and resets_at", () => {
    const resets = new Date(ctx.nowMs + 3_600_000).toISOString()
    const body = err(403, "Budget exceeded", {
      limit_source: "openrouter_guardrail_budget",
      scope: "api_key",
      limit_usd: 5,
      spend_usd: 5.01,
      resets_at: resets
    })
    const d = classify(res(403, {}, body), ctx)
    expect(d).toMatchObject({ _tag: "Stop", reason: "provider-budget", resetAtMs: ctx.nowMs + 3_600_000 })
    expect(d._tag === "Stop" ? d.message : "").toMatch(
      /guardrail budget is spent \(\$5\.01 spent of \$5, api_key\)/
    )
  })
})

describe("retry hints from the OpenAI family", () => {
  it("x-ratelimit-reset-requests / -tokens durations, the longer of the two", () => {
    const d = classify(
      res(429, { "x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "6m0s" }),
      ctx
    )
    expect(d).toMatchObject({ _tag: "Retry", reason: "rate-limited", delayMs: 360_000, fromProvider: true })
    expect(classify(res(429, { "x-ratelimit-reset-requests": "20ms" }), ctx)).toMatchObject({ delayMs: 20 })
    expect(classify(res(429, { "x-ratelimit-reset-tokens": "1m2.5s" }), ctx)).toMatchObject({
      delayMs: 62_500
    })
    // past our longest wait (15 minutes) the request fails rather than sleeping for an hour
    expect(classify(res(429, { "x-ratelimit-reset-tokens": "1h2m3.5s" }), ctx)).toMatchObject({
      _tag: "Fail"
    })
  })

  it('"Please try again in 20s." in the message, when no header says', () => {
    const body = {
      error: { message: "Rate limit reached for requests. Please try again in 20s.", type: "requests" }
    }
    expect(classify(res(429, {}, body), ctx)).toMatchObject({ delayMs: 20_000, fromProvider: true })
    const ms = { error: { message: "Rate limit reached. Please try again in 250ms." } }
    expect(classify(res(429, {}, ms), ctx)).toMatchObject({ delayMs: 250, fromProvider: true })
  })

  it("Retry-After still wins, as seconds or an HTTP date", () => {
    const date = new Date(ctx.nowMs + 5_000).toUTCString()
    const d = classify(res(429, { "Retry-After": date, "x-ratelimit-reset-requests": "1s" }), ctx)
    expect(d._tag === "Retry" ? d.delayMs : 0).toBeGreaterThan(3_000)
  })
})
