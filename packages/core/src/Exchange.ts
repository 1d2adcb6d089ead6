/**
 * One HTTP request and its whole reply over an undici dispatcher, read by the dispatcher's own
 * handler calls: no body stream, no abort signal, no promise. A run sends thousands of these; the
 * stream and signal that undici's `request` builds for each cost more than our own work on it.
 * The reply's body is capped, and the whole exchange (waiting for a connection, headers, body)
 * has one deadline.
 */
import type { Dispatcher } from "undici"

export interface ExchangeRequest {
  readonly origin: string
  readonly path: string
  readonly method: "GET" | "POST" | "DELETE"
  readonly headers: Readonly<Record<string, string>>
  readonly body?: string
  readonly timeoutMs: number
  readonly maxBytes: number
}

export type ReplyHeaders = Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

export type ExchangeResult =
  | { readonly _tag: "Reply"; readonly status: number; readonly headers: ReplyHeaders; readonly text: string }
  /** `status`: the reply's, when its head came before the cut. */
  | { readonly _tag: "TooLarge"; readonly status: number | undefined }
  | { readonly _tag: "TimedOut" }
  | { readonly _tag: "Failed"; readonly error: Error }

interface Controller {
  readonly abort: (reason: Error) => void
}

/**
 * Sends `req` and calls `done` once with what came of it. Returns a function that cancels the
 * exchange (a fiber interrupted); `done` is then not called.
 */
export const exchange = (
  dispatcher: Dispatcher,
  req: ExchangeRequest,
  done: (result: ExchangeResult) => void
): (() => void) => {
  let controller: Controller | undefined
  let stopped: Error | undefined
  let settled = false
  let status = 0
  let headers: ReplyHeaders = {}
  let size = 0
  const chunks: Buffer[] = []
  const settle = (result: ExchangeResult | undefined, stop?: Error) => {
    if (settled) return
    settled = true
    clearTimeout(timer)
    if (stop !== undefined) {
      stopped = stop
      controller?.abort(stop)
    }
    if (result !== undefined) done(result)
  }
  const timer = setTimeout(() => settle({ _tag: "TimedOut" }, new Error("timeout")), req.timeoutMs)
  const handler: Dispatcher.DispatchHandler = {
    onRequestStart(c) {
      controller = c
      if (stopped !== undefined) c.abort(stopped)
    },
    onResponseStart(_c, statusCode, replyHeaders) {
      status = statusCode
      headers = replyHeaders as ReplyHeaders
      // a body declared past the cap is not read at all
      if (Number(headers["content-length"] ?? 0) > req.maxBytes)
        settle({ _tag: "TooLarge", status }, new Error("too large"))
    },
    onResponseData(_c, chunk) {
      size += chunk.length
      if (size <= req.maxBytes) chunks.push(chunk)
      else settle({ _tag: "TooLarge", status }, new Error("too large"))
    },
    onResponseEnd() {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
      settle({ _tag: "Reply", status, headers, text: body.toString("utf8") })
    },
    onResponseError(_c, error) {
      settle({ _tag: "Failed", error })
    }
  }
  try {
    dispatcher.dispatch(
      {
        origin: req.origin,
        path: req.path,
        method: req.method,
        headers: req.headers,
        ...(req.body !== undefined ? { body: req.body } : {})
      },
      handler
    )
  } catch (e) {
    settle({ _tag: "Failed", error: e instanceof Error ? e : new Error(String(e)) })
  }
  return () => settle(undefined, new Error("cancelled"))
}
