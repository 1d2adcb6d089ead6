/** What the engine reports as it works: one typed union, read by progress lines and run records. */
import type { JobRef } from "./Job.ts"

/** An event about one request: its step, item and pack as fields (`JobRef`). */
type About = JobRef

export type EngineEvent =
  /** A free-model reply's `X-RateLimit-Limit` names the account's daily free tier (50 or 1,000). */
  | { readonly type: "free-tier"; readonly perDay: number; readonly at: number }
  | (About & {
      readonly type: "attempt"
      readonly attempt: number
      readonly at: number
      /** The worst case reserved for it (exact USD): written before the send, so a resume after a kill counts it. */
      readonly worst: string
      /** A free-model request: it counts in the day's quota and `max_free_requests`. */
      readonly free?: boolean
    })
  | (About & {
      readonly type: "response"
      readonly attempt: number
      readonly status: number | undefined
      readonly at: number
      /** What the attempt was billed (exact decimal USD); undefined when nothing was. */
      readonly cost: string | undefined
    })
  | (About & {
      readonly type: "retry"
      readonly attempt: number
      readonly reason: string
      readonly delayMs: number
      readonly message: string
      readonly at: number
    })
  | (About & {
      readonly type: "wait"
      readonly waitedMs: number
      readonly reason: string
      readonly at: number
    })
  | (About & { readonly type: "cache-hit"; readonly at: number })
  | (About & {
      readonly type: "waiting"
      readonly delayMs: number
      readonly reason: string
      readonly at: number
    })
  | { readonly type: "stop"; readonly reason: string; readonly message: string; readonly at: number }
  /** A free-quota count whose answer was lost with the store: its request was not sent; a later run takes it back. */
  | {
      readonly type: "ledger-unsettled"
      readonly fingerprint: string
      readonly day: string
      readonly id: string
      readonly at: number
    }
