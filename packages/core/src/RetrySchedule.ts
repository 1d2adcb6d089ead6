/**
 * When a request goes again: our policy as a `Schedule` over the attempts' failures. Only a
 * `Retryable` failure recurs; a 429 whose wait the provider gave does not use up `max_attempts`
 * (up to `MAX_RATE_LIMITED` of them; the bucket itself waits out the pause, set here only when
 * the request goes again). The delay is slept inside the step, so a stop cuts it short.
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { type RequestState, Retryable } from "./AttemptState.ts"
import type { EngineContext } from "./EngineContext.ts"
import type { Job } from "./Job.ts"
import type { Target } from "./Limits.ts"

/** 429s with a provider-given wait that a request may wait out beyond its max_attempts. */
export const MAX_RATE_LIMITED = 10

/** Counts the attempts `max_attempts` limits: a provider-timed 429 is free, up to the cap. */
export const counts = (e: { readonly providerWait: boolean }, state: Pick<RequestState, "rateLimited">) =>
  !(e.providerWait && state.rateLimited <= MAX_RATE_LIMITED)

export const retrySchedule = (ctx: EngineContext, job: Job, target: Target, state: RequestState) =>
  Schedule.fromStep(
    Effect.sync(() => {
      let counted = 0
      return (_now: number, e: unknown) => {
        if (!(e instanceof Retryable)) return Cause.done(counted)
        const r: Retryable = e
        if (counts(r, state)) counted++
        if (counted >= job.maxAttempts) return Cause.done(counted)
        ctx.emit({
          type: "retry",
          ...job.ref,
          attempt: state.attempt,
          reason: r.reason,
          delayMs: r.delayMs,
          message: r.message,
          at: r.at
        })
        // a provider-given pause is waited out by the whole bucket, and by this request even
        // where no bucket paces it (a paid model with no stated limit)
        const sleep =
          r.delayMs > 0 ? ctx.stopper.untilStopped(Effect.sleep(Duration.millis(r.delayMs))) : Effect.void
        const wait = r.providerWait
          ? Effect.andThen(ctx.limits.pause(target, r.at + r.delayMs), sleep)
          : sleep
        return Effect.as(wait, [counted, Duration.zero] as [number, Duration.Duration])
      }
    })
  )
