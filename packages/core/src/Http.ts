/** Bounded HTTP GET for JSON documents: a whole-request timeout and a body size cap. */
import { request } from "undici"

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

/** A response body as a stream of byte chunks (undici's, Node's `Readable`). */
export interface BodyStream {
  readonly on: (event: "data", f: (chunk: Buffer) => void) => unknown
  readonly once: (event: "end" | "error", f: (e?: unknown) => void) => unknown
  readonly destroy: () => void
}

/**
 * A response body as text, or undefined once it passes `maxBytes` (the transfer stops there).
 * Read by its events: an async iterator per body cost more than the rest of reading it.
 */
export const readCapped = (body: BodyStream, maxBytes: number): Promise<string | undefined> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    body.on("data", (chunk) => {
      if (done) return
      size += chunk.length
      if (size <= maxBytes) return void chunks.push(chunk)
      done = true
      body.destroy()
      resolve(undefined)
    })
    body.once("end", () => {
      if (done) return
      done = true
      resolve((chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString("utf8"))
    })
    body.once("error", (e) => {
      if (done) return
      done = true
      reject(e)
    })
  })

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
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(new Error("timeout")), limits.timeoutMs)
  const timedOut = () => controller.signal.aborted
  try {
    const res = await request(url, {
      method,
      headers: {
        accept: "application/json",
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...headers
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: controller.signal
    })
    if (res.statusCode < 200 || res.statusCode >= 300) {
      await res.body.dump().catch(() => undefined)
      throw new FetchError({
        reason: "http",
        status: res.statusCode,
        message: `${method} ${url} answered HTTP ${res.statusCode}`
      })
    }
    const declared = Number(res.headers["content-length"] ?? Number.NaN)
    if (declared > limits.maxBytes) {
      res.body.destroy()
      throw new FetchError({
        reason: "too-large",
        message: `${method} ${url}: body of ${declared} bytes exceeds the ${limits.maxBytes}-byte cap`
      })
    }
    const text = await readCapped(res.body, limits.maxBytes)
    if (text === undefined)
      throw new FetchError({
        reason: "too-large",
        message: `${method} ${url}: body exceeds the ${limits.maxBytes}-byte cap`
      })
    if (text.trim() === "") return null
    try {
      return JSON.parse(text)
    } catch (e) {
      throw new FetchError({
        reason: "malformed",
        message: `${method} ${url}: body is not JSON (${(e as Error).message})`
      })
    }
  } catch (e) {
    if (e instanceof FetchError) throw e
    if (timedOut())
      throw new FetchError({
        reason: "timeout",
        message: `${method} ${url} timed out after ${limits.timeoutMs} ms`
      })
    throw new FetchError({ reason: "network", message: `${method} ${url} failed: ${(e as Error).message}` })
  } finally {
    clearTimeout(timer)
  }
}
