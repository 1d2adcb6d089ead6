/**
 * What to do with a provider outcome: retry after a delay, fail this request, or stop the run.
 * Pure: the caller supplies the clock reading and a random number for jitter.
 */

import * as Policy from "@tollgate/pricing/Policy"
import type { Outcome } from "./Provider.ts"
import { errorOf, type LimitMetadata, type ProviderError } from "./ProviderError.ts"

export type { Outcome }

export interface RetryConfig {
  /** First backoff delay. */
  readonly baseMs: number
  /** Backoff cap (also caps how long we honour a provider's Retry-After before giving up). */
  readonly capMs: number
  /** Longest Retry-After we will wait out rather than fail. */
  readonly maxWaitMs: number
}
export const defaultRetryConfig: RetryConfig = { baseMs: 1_000, capMs: 60_000, maxWaitMs: 15 * 60_000 }

export type Decision =
  | { readonly _tag: "Success" }
  | {
      readonly _tag: "Retry"
      readonly delayMs: number
      /**
       * Why, for logs and the progress line. `in-flight-budget`: OpenRouter's in-flight spending
       * budget is full (402 `in_flight_budget_exhausted`): wait, and send less at once.
       */
      readonly reason:
        | "rate-limited"
        | "in-flight-budget"
        | "server-error"
        | "timeout"
        | "transport"
        | "invalid-reply"
      /** The wait came from the provider (Retry-After / X-RateLimit-Reset), not our backoff. */
      readonly fromProvider: boolean
      readonly message: string
      /** For a 429: the limit the provider stated, in its message or `X-RateLimit-Limit`. */
      readonly limitHint?: number | undefined
    }
  | { readonly _tag: "Fail"; readonly status: number | undefined; readonly message: string }
  | {
      readonly _tag: "Stop"
      /**
       * `request-too-big`: one request's worst case is more than the whole in-flight budget
       * (402 `weight_exceeds_budget`); `provider-budget`: a budget layer is spent (403).
       */
      readonly reason: "credits" | "provider-budget" | "daily-free-quota" | "unauthorized" | "request-too-big"
      readonly message: string
      /** For the daily cap and a budget layer: when it resets (epoch ms). */
      readonly resetAtMs: number | undefined
      /** For `request-too-big`: the tokens the provider said it could afford. */
      readonly affordTokens?: number | undefined
    }

type HeaderMap = Readonly<Record<string, string | undefined>>

/**
 * A header by its lower-case name, whatever case the reply gave it. Most names asked for are
 * absent: those cost a comparison of lengths per header, not a lower-cased copy of the headers.
 */
const header = (h: HeaderMap, name: string): string | undefined => {
  const exact = h[name]
  if (exact !== undefined) return exact
  for (const k in h) if (k.length === name.length && k.toLowerCase() === name) return h[k]
  return undefined
}

/** An OpenAI-style duration (`1s`, `6m0s`, `20ms`, `1h2m3.5s`) in ms; undefined if it is not one. */
export const durationMs = (text: string): number | undefined => {
  const t = text.trim()
  if (!/^(\d+(\.\d+)?(ms|h|m|s))+$/.test(t)) return undefined
  const unit: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }
  let total = 0
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) total += Number(m[1]) * unit[m[2]!]!
  return Math.ceil(total)
}

/** "Please try again in 20s." / "try again in 250ms" in an OpenAI-style error message. */
const messageWaitMs = (message: string | undefined): number | undefined => {
  const m = message === undefined ? null : /try again in ((?:\d+(?:\.\d+)?(?:ms|h|m|s))+)/i.exec(message)
  return m === null ? undefined : durationMs(m[1]!)
}

/**
 * How long the provider asked us to wait: `Retry-After` in seconds (or an HTTP date), else
 * OpenRouter's `X-RateLimit-Reset` in epoch milliseconds, else the OpenAI family's
 * `x-ratelimit-reset-requests` / `-tokens` durations (the longer), else a "try again in 20s" in
 * the error message. Undefined when it did not say.
 */
export const providerWaitMs = (
  headers: Readonly<Record<string, string | undefined>>,
  nowMs: number,
  message?: string
): number | undefined => {
  const retryAfter = header(headers, "retry-after")
  if (retryAfter !== undefined) {
    const seconds = Number(retryAfter)
    if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000)
    const date = Date.parse(retryAfter)
    if (Number.isFinite(date)) return Math.max(0, date - nowMs)
  }
  const reset = header(headers, "x-ratelimit-reset")
  if (reset !== undefined) {
    const ms = Number(reset)
    if (Number.isFinite(ms) && ms > 0) return Math.max(0, ms - nowMs)
  }
  const resets = ["x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"].flatMap((name) => {
    const v = header(headers, name)
    const ms = v === undefined ? undefined : durationMs(v)
    return ms === undefined ? [] : [ms]
  })
  if (resets.length > 0) return Math.max(...resets)
  return messageWaitMs(message)
}

const numberHeader = (h: Readonly<Record<string, string | undefined>>, name: string): number | undefined => {
  const v = header(h, name)
  const n = v === undefined || v.trim() === "" ? Number.NaN : Number(v)
  return Number.isFinite(n) ? n : undefined
}

/** `X-RateLimit-Limit`, `-Remaining` and `-Reset` (epoch ms), where a response carries them. */
export const rateHeaders = (headers: Readonly<Record<string, string | undefined>>) => ({
  limit: numberHeader(headers, "x-ratelimit-limit"),
  remaining: numberHeader(headers, "x-ratelimit-remaining"),
  resetAtMs: numberHeader(headers, "x-ratelimit-reset")
})

/** The limit a 429 states: "limited to 8 requests per minute", else its `X-RateLimit-Limit`. */
export const statedLimit = (message: string, headers: Readonly<Record<string, string | undefined>>) => {
  const said = /limited to (\d+) requests? per/i.exec(message)
  return said !== null ? Number(said[1]) : numberHeader(headers, "x-ratelimit-limit")
}

/** Exponential backoff with full jitter: uniform in [0, min(cap, base·2^(attempt-1))], at least 1/4 of it. */
export const backoffMs = (
  attempt: number,
  random: number,
  config: RetryConfig = defaultRetryConfig
): number => {
  const ceiling = Math.min(config.capMs, config.baseMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(ceiling / 4 + random * ((ceiling * 3) / 4))
}

const isDailyFreeCap = (message: string, headers: Readonly<Record<string, string | undefined>>): boolean =>
  message.includes("free-models-per-day") ||
  (header(headers, "x-ratelimit-remaining") === "0" && /per[- ]day/i.test(message))

/** A 403 that says a workspace or guardrail budget is spent ("Workspace monthly budget of $500.00 exceeded"). */
const isBudgetExceeded = (message: string): boolean => /budget/i.test(message) && /exceed/i.test(message)

/** A wait the provider asks for that is longer than we wait out: the request fails, saying so. */
const waitTooLong = (status: number, message: string, waitMs: number): Decision => ({
  _tag: "Fail",
  status,
  message: `${message} (provider asks to wait ${Math.round(waitMs / 1000)} s, beyond our limit)`
})

/** The budget layers a 403 (or 402) may name: guardrail, workspace, member, the key's limit. */
const BUDGET_LAYERS: Readonly<Record<string, string>> = {
  openrouter_guardrail_budget: "guardrail budget",
  openrouter_workspace_budget: "workspace budget",
  openrouter_member_budget: "member budget",
  openrouter_key_limit: "key limit"
}

/** A spent budget layer, said with its scope, figures and reset. */
const layerStop = (m: LimitMetadata, message: string, nowMs: number): Decision => {
  const reset = m.resetsAt !== undefined ? Date.parse(m.resetsAt) : Number.NaN
  const layer = BUDGET_LAYERS[m.limitSource ?? ""] ?? "budget"
  const figures =
    m.limitUsd !== undefined
      ? ` ($${m.spendUsd ?? "?"} spent of $${m.limitUsd}${m.scope ? `, ${m.scope}` : ""})`
      : ""
  return {
    _tag: "Stop",
    reason: "provider-budget",
    message: `the provider's ${layer} is spent${figures}: ${message}`,
    resetAtMs: Number.isFinite(reset) && reset > nowMs ? reset : undefined
  }
}

/** A 402, by `metadata.reason` and `limit_source` (status alone says only "some credit limit"). */
const classify402 = (
  m: LimitMetadata,
  message: string,
  headers: Readonly<Record<string, string | undefined>>,
  ctx: { readonly nowMs: number; readonly backoff: () => number; readonly maxWaitMs: number }
): Decision => {
  if (m.reason === "in_flight_budget_exhausted" || m.limitSource === "openrouter_in_flight_budget") {
    const wait = providerWaitMs(headers, ctx.nowMs, message)
    if (wait !== undefined && wait > ctx.maxWaitMs) return waitTooLong(402, message, wait)
    return {
      _tag: "Retry",
      delayMs: wait ?? ctx.backoff(),
      reason: "in-flight-budget",
      fromProvider: wait !== undefined,
      message
    }
  }
  if (m.reason === "weight_exceeds_budget") {
    const afford = /can only afford (\d+)/i.exec(message)
    return {
      _tag: "Stop",
      reason: "request-too-big",
      message,
      resetAtMs: undefined,
      affordTokens: afford !== null ? Number(afford[1]) : undefined
    }
  }
  if (m.limitSource === "openrouter_key_limit") return layerStop(m, message, ctx.nowMs)
  return { _tag: "Stop", reason: "credits", message, resetAtMs: undefined }
}

/**
 * Classifies one attempt's outcome. `attempt` is 1-based; the caller enforces `max_attempts`.
 * `error`: the body's error object, as the caller decoded it with the rest of the reply.
 */
export const classify = (
  outcome: Outcome,
  ctx: {
    readonly attempt: number
    readonly nowMs: number
    readonly random: number
    readonly config?: RetryConfig
  },
  error: ProviderError | undefined = outcome._tag === "Response" ? errorOf(outcome.body) : undefined
): Decision => {
  const config = ctx.config ?? defaultRetryConfig
  const backoff = () => backoffMs(ctx.attempt, ctx.random, config)
  if (outcome._tag === "Transport") {
    return {
      _tag: "Retry",
      delayMs: backoff(),
      reason: outcome.reason === "timeout" ? "timeout" : "transport",
      fromProvider: false,
      message: outcome.message
    }
  }
  const err = error
  // Some errors arrive with status 200 and an error object in the body.
  const status =
    outcome.status >= 200 && outcome.status < 300 && err !== undefined ? (err.code ?? 500) : outcome.status
  const message = err?.message ?? `HTTP ${status}`
  if (status >= 200 && status < 300) return { _tag: "Success" }
  if (status === 429) {
    if (isDailyFreeCap(message, outcome.headers)) {
      const wait = providerWaitMs(outcome.headers, ctx.nowMs, message)
      return {
        _tag: "Stop",
        reason: "daily-free-quota",
        message,
        resetAtMs:
          wait !== undefined && wait > 0
            ? ctx.nowMs + wait
            : Policy.nextUtcMidnight(new Date(ctx.nowMs)).getTime()
      }
    }
    const wait = providerWaitMs(outcome.headers, ctx.nowMs, message)
    if (wait !== undefined && wait > config.maxWaitMs) return waitTooLong(status, message, wait)
    return {
      _tag: "Retry",
      delayMs: wait ?? backoff(),
      reason: "rate-limited",
      fromProvider: wait !== undefined,
      message,
      limitHint: statedLimit(message, outcome.headers)
    }
  }
  const meta = err?.metadata ?? {}
  if (status === 402)
    return classify402(meta, message, outcome.headers, {
      nowMs: ctx.nowMs,
      backoff,
      maxWaitMs: config.maxWaitMs
    })
  if (status === 403 && (BUDGET_LAYERS[meta.limitSource ?? ""] !== undefined || isBudgetExceeded(message)))
    return layerStop(meta, message, ctx.nowMs)
  if (status === 401) return { _tag: "Stop", reason: "unauthorized", message, resetAtMs: undefined }
  if (status === 408 || status >= 500) {
    const wait = providerWaitMs(outcome.headers, ctx.nowMs)
    return {
      _tag: "Retry",
      delayMs: wait !== undefined && wait <= config.maxWaitMs ? wait : backoff(),
      reason: status === 408 ? "timeout" : "server-error",
      fromProvider: wait !== undefined,
      message
    }
  }
  return { _tag: "Fail", status, message }
}
