/**
 * The real provider: `POST {base_url}/chat/completions` over an undici keep-alive pool. The key
 * comes from the environment and goes only into the Authorization header: it is never logged,
 * returned, or put in an error message.
 */
import { type ChatRequest, type Outcome, Provider, type ProviderShape } from "@tollgate/core/Provider"
import * as Http from "@tollgate/pricing/Http"
import { Effect, Layer } from "effect"
import { Agent, request } from "undici"

export interface HttpProviderOptions {
  readonly apiKey: string | undefined
  readonly headers: Readonly<Record<string, string>>
  readonly connections: number
}

const MAX_BODY = 16 * 1024 * 1024

/** Removes every occurrence of `secret` from a text (for messages that quote a request). */
export const redact = (text: string, secret: string | undefined): string =>
  secret === undefined || secret.length < 4 ? text : text.split(secret).join("[redacted]")

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

export const make = (opts: HttpProviderOptions): ProviderShape & { readonly close: () => Promise<void> } => {
  const agent = new Agent({ connections: opts.connections, keepAliveTimeout: 30_000, pipelining: 1 })
  const send = (req: ChatRequest): Effect.Effect<Outcome> =>
    Effect.promise(async (): Promise<Outcome> => {
      const signal = AbortSignal.timeout(req.timeoutMs)
      try {
        const res = await request(`${req.baseUrl}/chat/completions`, {
          method: "POST",
          dispatcher: agent,
          signal,
          headers: {
            "content-type": "application/json",
            accept: "application/json",
            ...opts.headers,
            ...(opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {})
          },
          body: JSON.stringify(req.body)
        })
        const text = await Http.readCapped(res.body, MAX_BODY)
        if (text === undefined)
          return { _tag: "Transport", reason: "other", message: `response larger than ${MAX_BODY} bytes` }
        let body: unknown
        try {
          body = JSON.parse(text)
        } catch {
          body = { error: { code: res.statusCode, message: redact(text.slice(0, 300), opts.apiKey) } }
          if (res.statusCode >= 200 && res.statusCode < 300)
            return { _tag: "Response", status: 502, headers: {}, body }
        }
        const headers: Record<string, string> = {}
        for (const [k, v] of Object.entries(res.headers))
          if (typeof v === "string") headers[k.toLowerCase()] = v
        return { _tag: "Response", status: res.statusCode, headers, body }
      } catch (e) {
        const reason = signal.aborted ? "timeout" : transportReason(e)
        const message =
          reason === "timeout"
            ? `no reply within ${req.timeoutMs} ms`
            : redact(String((e as Error).message ?? e), opts.apiKey)
        return { _tag: "Transport", reason, message }
      }
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
