/**
 * The real provider: `POST {base_url}/chat/completions` over an undici keep-alive pool. The key
 * comes from the environment and goes only into the Authorization header, which is ours alone.
 * Whatever the endpoint answers, JSON or not, in its body or its headers, has the key removed
 * before anything else sees it: an endpoint that quotes the key back cannot get it printed,
 * logged or written to the run's records.
 */

import * as Exchange from "@tollgate/core/Exchange"
import { type ChatRequest, type Outcome, Provider, type ProviderShape } from "@tollgate/core/Provider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import { Agent } from "undici"
import { bearer } from "./KeyRoute.ts"
import { redact } from "./Redact.ts"

export interface HttpProviderOptions {
  readonly apiKey: Redacted.Redacted<string> | undefined
  readonly headers: Readonly<Record<string, string>>
  readonly connections: number
}

const MAX_BODY = 16 * 1024 * 1024

const transportReason = (e: unknown): "timeout" | "reset" | "connect" | "other" => {
  const code = (e as { code?: string }).code ?? ""
  const name = (e as { name?: string }).name ?? ""
  if (name === "TimeoutError" || name === "AbortError" || code.includes("TIMEOUT")) return "timeout"
  if (code === "ECONNRESET" || code === "UND_ERR_SOCKET" || code === "EPIPE" || code === "UND_ERR_CLOSED")
    return "reset"
  if (
    code === "ECONNREFUSED" ||
    code === "ENOTFOUND" ||
    code === "EAI_AGAIN" ||
    code === "UND_ERR_CONNECT_TIMEOUT"
  )
    return "connect"
  return "other"
}

/** The request's headers: the pipeline's, then ours (so no pipeline header can replace the key). */
const requestHeaders = (opts: HttpProviderOptions): Record<string, string> => {
  const ours = new Set(["authorization", "content-type", "accept"])
  const own = Object.fromEntries(Object.entries(opts.headers).filter(([k]) => !ours.has(k.toLowerCase())))
  return {
    ...own,
    "content-type": "application/json",
    accept: "application/json",
    ...(opts.apiKey !== undefined ? bearer(opts.apiKey) : {})
  }
}

/** A parsed JSON value with the key removed from every string and key (JSON escapes decode back to it). */
const redactDeep = (value: unknown, secret: Redacted.Redacted<string> | undefined): unknown => {
  if (typeof value === "string") return redact(value, secret)
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, secret))
  if (value !== null && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [redact(k, secret), redactDeep(v, secret)])
    )
  return value
}

/** What the endpoint said, with the key removed from its headers and body. Pure. */
export const outcomeOf = (
  status: number,
  rawHeaders: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>,
  rawText: string,
  secret: Redacted.Redacted<string> | undefined
): Outcome => {
  const headers: Record<string, string> = {}
  let all = ""
  for (const k in rawHeaders) {
    const v = rawHeaders[k]
    if (typeof v !== "string") continue
    headers[k.toLowerCase()] = v
    all += `${v}\n`
  }
  // the values searched together first: one search for a reply whose headers hold no key (most)
  if (redact(all, secret) !== all) for (const k in headers) headers[k] = redact(headers[k]!, secret)
  const text = redact(rawText, secret)
  try {
    // a JSON text with no escape holds its strings as they stand in it: redacting the text was enough
    const parsed: unknown = JSON.parse(text)
    if (text.includes("\\")) return { _tag: "Response", status, headers, body: redactDeep(parsed, secret) }
    return { _tag: "Response", status, headers, body: parsed, text }
  } catch {
    const body = { error: { code: status, message: text.slice(0, 300) } }
    // a 2xx that is not JSON is the provider's fault: retried like a 502
    return { _tag: "Response", status: status >= 200 && status < 300 ? 502 : status, headers, body }
  }
}

/** Where `{baseUrl}/chat/completions` is sent (undefined: not a URL), parsed once per base URL. */
const completionsTarget = (): ((baseUrl: string) => Exchange.Target | undefined) => {
  const seen = new Map<string, Exchange.Target | undefined>()
  return (baseUrl) => {
    if (!seen.has(baseUrl)) seen.set(baseUrl, Exchange.targetOf(`${baseUrl}/chat/completions`))
    return seen.get(baseUrl)
  }
}

/** What came of one exchange, as the engine reads it. */
const outcomeOfExchange = (
  result: Exchange.ExchangeResult,
  timeoutMs: number,
  secret: Redacted.Redacted<string> | undefined
): Outcome => {
  switch (result._tag) {
    case "Reply":
      return outcomeOf(result.status, result.headers, result.text, secret)
    case "TooLarge":
      return { _tag: "Transport", reason: "other", message: `response larger than ${MAX_BODY} bytes` }
    case "TimedOut":
      return { _tag: "Transport", reason: "timeout", message: `no reply within ${timeoutMs} ms` }
    case "Failed":
      return {
        _tag: "Transport",
        reason: transportReason(result.error),
        message: redact(String(result.error.message ?? result.error), secret)
      }
  }
}

export const make = (opts: HttpProviderOptions): ProviderShape & { readonly close: () => Promise<void> } => {
  const agent = new Agent({ connections: opts.connections, keepAliveTimeout: 30_000, pipelining: 1 })
  const headers = requestHeaders(opts)
  const targetOf = completionsTarget()
  const send = (req: ChatRequest): Effect.Effect<Outcome> =>
    Effect.callback<Outcome>((resume) => {
      const target = targetOf(req.baseUrl)
      if (target === undefined)
        return resume(
          Effect.succeed({ _tag: "Transport", reason: "connect", message: "the base URL is not a URL" })
        )
      const cancel = Exchange.exchange(
        agent,
        {
          ...target,
          method: "POST",
          headers,
          body: JSON.stringify(req.body),
          timeoutMs: req.timeoutMs,
          maxBytes: MAX_BODY
        },
        (result) => resume(Effect.succeed(outcomeOfExchange(result, req.timeoutMs, opts.apiKey)))
      )
      return Effect.sync(cancel)
    })
  return { send, close: () => agent.close() }
}

export const layer = (opts: HttpProviderOptions) =>
  Layer.effect(
    Provider,
    Effect.acquireRelease(
      Effect.sync(() => make(opts)),
      (p) => Effect.promise(() => p.close())
    )
  )
