/**
 * One HTTP request and its whole reply over an undici dispatcher, read by the dispatcher's own
 * handler calls: no body stream, no abort signal, no promise. A run sends thousands of these; the
 * stream and signal that undici's `request` builds for each cost more than our own work on it.
 * The reply's body is capped, and the whole exchange (waiting for a connection, headers, body)
 * has one deadline.
 */
import type { Dispatcher } from "undici"

/** Where a request goes, as the dispatcher takes it. */
export interface Target {
  readonly origin: string
  /** Its path and query. */
  readonly path: string
}

/** A URL's origin and path; undefined when it is not a URL. */
export const targetOf = (url: string): Target | undefined => {
  const u = URL.parse(url)
  return u === null ? undefined : { origin: u.origin, path: `${u.pathname}${u.search}` }
}

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

/** One exchange's state, and the dispatcher's handler for it: its calls arrive as method calls. */
class Handler implements Dispatcher.DispatchHandler {
  private controller: Controller | undefined
  private stopped: Error | undefined
  private settled = false
  private status = 0
  private headers: ReplyHeaders = {}
  private size = 0
  private readonly chunks: Buffer[] = []
  private readonly timer: ReturnType<typeof setTimeout>
  private readonly maxBytes: number
  private readonly done: (result: ExchangeResult) => void

  constructor(req: ExchangeRequest, done: (result: ExchangeResult) => void) {
    this.maxBytes = req.maxBytes
    this.done = done
    this.timer = setTimeout(() => this.settle({ _tag: "TimedOut" }, new Error("timeout")), req.timeoutMs)
  }

  /** Ends the exchange once: reports `result` (none when cancelled), and stops the transfer when asked. */
  settle(result: ExchangeResult | undefined, stop?: Error): void {
    if (this.settled) return
    this.settled = true
    clearTimeout(this.timer)
    if (stop !== undefined) {
      this.stopped = stop
      this.controller?.abort(stop)
    }
    if (result !== undefined) this.done(result)
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller
    // stopped while it waited for a connection: it goes no further
    if (this.stopped !== undefined) controller.abort(this.stopped)
  }

  onResponseStart(_c: Controller, status: number, headers: Record<string, unknown>): void {
    this.status = status
    this.headers = headers as ReplyHeaders
    // a body declared past the cap is not read at all
    if (Number(this.headers["content-length"] ?? 0) > this.maxBytes) this.tooLarge()
  }

  onResponseData(_c: Controller, chunk: Buffer): void {
    this.size += chunk.length
    if (this.size <= this.maxBytes) this.chunks.push(chunk)
    else this.tooLarge()
  }

  onResponseEnd(): void {
    const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks)
    this.settle({ _tag: "Reply", status: this.status, headers: this.headers, text: body.toString("utf8") })
  }

  onResponseError(_c: Controller, error: Error): void {
    this.settle({ _tag: "Failed", error })
  }

  private tooLarge(): void {
    this.settle({ _tag: "TooLarge", status: this.status }, new Error("too large"))
  }
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
  const handler = new Handler(req, done)
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
    handler.settle({ _tag: "Failed", error: e instanceof Error ? e : new Error(String(e)) })
  }
  return () => handler.settle(undefined, new Error("cancelled"))
}
