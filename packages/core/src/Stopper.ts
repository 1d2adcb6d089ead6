/**
 * The run's stop switch. Once stopped, no new request goes out; waits (pacing, backoff) are cut
 * short, since nothing has been sent during them; requests already sent are never interrupted.
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type { EngineEvent } from "./EngineEvent.ts"
import type { RunStopped } from "./Job.ts"

export interface Stopper {
  readonly stop: (reason: RunStopped) => Effect.Effect<void>
  readonly stopped: Effect.Effect<RunStopped | undefined>
  /** The stop reason now, read without an effect (for a step already inside one). */
  readonly current: () => RunStopped | undefined
  /** `f`'s effect, unless the run has stopped: then the stop reason, and `f` is not called. */
  readonly unlessStopped: <A, E, R>(f: () => Effect.Effect<A, E, R>) => Effect.Effect<A, E | RunStopped, R>
  /** Runs a wait that a stop cuts short (failing with the stop reason). */
  readonly untilStopped: <A, E>(wait: Effect.Effect<A, E>) => Effect.Effect<A, E | RunStopped>
}

export const makeStopper = Effect.fnUntraced(function* (emit: (e: EngineEvent) => void) {
  let stopped: RunStopped | undefined
  const latch = yield* Deferred.make<void>()
  const stop = (reason: RunStopped) =>
    Effect.flatMap(Clock.currentTimeMillis, (at) =>
      Effect.sync(() => {
        if (stopped !== undefined) return
        stopped = reason
        emit({ type: "stop", reason: reason.reason, message: reason.message, at })
      })
    ).pipe(Effect.andThen(Deferred.succeed(latch, undefined)), Effect.asVoid)
  const unlessStopped = <A, E, R>(f: () => Effect.Effect<A, E, R>): Effect.Effect<A, E | RunStopped, R> =>
    Effect.suspend(
      (): Effect.Effect<A, E | RunStopped, R> => (stopped === undefined ? f() : Effect.fail(stopped))
    )
  const untilStopped = <A, E>(wait: Effect.Effect<A, E>) =>
    Effect.raceFirst(
      wait,
      Effect.andThen(
        Deferred.await(latch),
        unlessStopped(() => Effect.never)
      )
    )
  return {
    stop,
    stopped: Effect.sync(() => stopped),
    current: () => stopped,
    unlessStopped,
    untilStopped
  } satisfies Stopper
})
