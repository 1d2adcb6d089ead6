/**
 * `runner run --until-done`: a run the daily free quota (or a provider budget layer) stopped waits for its reset (plus
 * a margin), then goes on in the same run directory, as often as the job needs days. The wait
 * sleeps a second at a time and reads the clock again, so a machine that slept, or a clock that
 * jumped, wakes it on time; a stop (SIGINT) during the wait ends it (exit 130; a later run resumes).
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { RunOutcome } from "./Execute.ts"

/** After 00:00 UTC, the provider's counters may lag a little: go on this much later. */
export const RESET_MARGIN_MS = 60_000

/**
 * When a stopped run may go on, or undefined when it stopped for another reason: the daily free
 * quota's reset, or a provider budget layer's `resets_at`.
 */
export const resumeAt = (o: Pick<RunOutcome, "status" | "stopKind" | "resetAtMs">): number | undefined =>
  o.status === "stopped" &&
  (o.stopKind === "free-quota" || o.stopKind === "daily-free-quota" || o.stopKind === "provider-budget") &&
  o.resetAtMs !== undefined
    ? o.resetAtMs + RESET_MARGIN_MS
    : undefined

/** Sleeps until `untilMs` by the wall clock; "interrupted" when `stop` completes first. */
export const waitUntil = (untilMs: number, stop: Effect.Effect<void> | undefined) => {
  const wait = Effect.gen(function* () {
    for (;;) {
      const now = yield* Clock.currentTimeMillis
      if (now >= untilMs) return "reset" as const
      yield* Effect.sleep(Math.min(1_000, untilMs - now))
    }
  })
  return stop === undefined ? wait : Effect.raceFirst(wait, Effect.as(stop, "interrupted" as const))
}
