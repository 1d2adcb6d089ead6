/** Bounded HTTP GET for JSON documents: a whole-request timeout and a body size cap. */
import { getGlobalDispatcher } from "undici"
import { type ExchangeResult, exchange, targetOf } from "./Exchange.ts"

export interface FetchLimits {
  readonly timeoutMs: number
  readonly maxBytes: number
}

export type FetchFailure =
  | { readonly reason: "timeout"; readonly message: string }
  | { readonly reason: "too-large"; readonly message: string }
  | { readonly reason: "http"; readonly status: number; readonly message: string }
  | { readonly reason: "network"; readonly message: string }
  | { readonly reason: "malformed"; readonly message: string }

export class FetchError extends Error {
  override readonly name = "FetchError"
  readonly failure: FetchFailure
  constructor(failure: FetchFailure) {
    super(failure.message)
    this.failure = failure
  }
}

/**
 * GETs `url` and parses its body as JSON, failing with a `FetchError` on a timeout (headers and
 * body together), a body over `maxBytes` (the transfer stops there), a non-2xx status or bad JSON.
 */
export const getJson = (
  url: string,
  limits: FetchLimits,
  headers: Record<string, string> = {}
): Promise<unknown> => requestJson("GET", url, undefined, limits, headers)

/** Like `getJson`, for any method, with an optional JSON body; an empty reply body is `null`. */
export const requestJson = async (
  method: "GET" | "POST" | "DELETE",
  url: string,
  body: unknown,
  limits: FetchLimits,
  headers: Record<string, string> = {}
): Promise<unknown> => {
  const target = targetOf(url)
  if (target === undefined)
    throw new FetchError({ reason: "network", message: `${method} ${url} failed: not a URL` })
  const result = await new Promise<ExchangeResult>((resolve) =>
    exchange(
      getGlobalDispatcher(),
      {
        ...target,
        method,
        headers: {
          accept: "application/json",
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
          ...headers
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        timeoutMs: limits.timeoutMs,
        maxBytes: limits.maxBytes
      },
      resolve
    )
  )
  return jsonOf(method, url, result, limits)
}

const ok = (status: number) => status >= 200 && status < 300
const refused = (method: string, url: string, status: number): FetchFailure => ({
  reason: "http",
  status,
  message: `${method} ${url} answered HTTP ${status}`
})

/** The parsed body of a 2xx reply, or the `FetchError` that says why there is none. */
const jsonOf = (method: string, url: string, result: ExchangeResult, limits: FetchLimits): unknown => {
  const fail = (failure: FetchFailure) => {
    throw new FetchError(failure)
  }
  switch (result._tag) {
    case "TimedOut":
      return fail({ reason: "timeout", message: `${method} ${url} timed out after ${limits.timeoutMs} ms` })
    case "TooLarge":
      // a refusal says so by its status, however long its page
      if (result.status !== undefined && !ok(result.status)) return fail(refused(method, url, result.status))
      return fail({
        reason: "too-large",
        message: `${method} ${url}: body exceeds the ${limits.maxBytes}-byte cap`
      })
    case "Failed":
      return fail({ reason: "network", message: `${method} ${url} failed: ${result.error.message}` })
  }
  if (!ok(result.status)) return fail(refused(method, url, result.status))
  if (result.text.trim() === "") return null
  try {
    return JSON.parse(result.text)
  } catch (e) {
    return fail({
      reason: "malformed",
      message: `${method} ${url}: body is not JSON (${(e as Error).message})`
    })
  }
}
