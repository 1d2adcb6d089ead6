/**
 * One attempt at a request: wait for its pacing slot, reserve its worst case in the budget,
 * count it in the free quota, put it on record and send it; what comes back is settled by
 * `AttemptOutcome.ts`. A reply the policy says to retry fails with `Retryable`; the retry
 * schedule (`RetrySchedule.ts`) decides whether to go again.
 */
import * as Money from "@tollgate/pricing/Money"
import * as Policy from "@tollgate/pricing/Policy"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { identity } from "effect/Function"
import { afterSend } from "./AttemptOutcome.ts"
import {
  orStop,
  type RequestState,
  type Retryable,
  resetText,
  type Sent,
  stopWith,
  storeStop
} from "./AttemptState.ts"
import type { BudgetExceeded, Reservation } from "./Budget.ts"
import type { EngineContext } from "./EngineContext.ts"
import type { Ticket } from "./InFlight.ts"
import { type Completion, type Job, type RequestFailed, RunStopped } from "./Job.ts"
import type { Slot, Target } from "./Limits.ts"

type HeldSlot = { readonly slot: Slot; readonly at: number }

/**
 * How late past its pacing slot a request may go out: half the shortest window. Its place moves
 * to the moment it is sent (`touch`), which is right as long as the place has not yet left the
 * window; a request held longer (waiting for an in-flight permit) gives its place back and takes
 * a new one, so a window never counts a place that was not used.
 */
const lateAfterMs = (slot: Slot): number =>
  slot.buckets.length === 0 ? Number.POSITIVE_INFINITY : Math.min(...slot.buckets.map((b) => b.windowMs)) / 2

/** Waits for the target's pacing slot (a stop cuts the wait short); returns it and when it came. */
const waitForSlot = Effect.fnUntraced(function* (
  ctx: EngineContext,
  job: Job,
  target: Target,
  waitStart: number
) {
  const wait = yield* ctx.stopper.untilStopped(
    orStop(
      ctx,
      ctx.limits.acquire(target, (delayMs, reason) =>
        ctx.emit({ type: "waiting", ...job.ref, delayMs, reason, at: waitStart })
      )
    )
  )
  const at = yield* Clock.currentTimeMillis
  if (wait.waitedMs > 0 && wait.reason !== undefined)
    ctx.emit({ type: "wait", ...job.ref, waitedMs: wait.waitedMs, reason: wait.reason, at })
  return { slot: wait.slot, at }
})

/** A slot held past `lateAfterMs` gives its place back: the request takes a place now, or goes round again. */
const retakeSlot = (ctx: EngineContext, target: Target, held: HeldSlot) =>
  Effect.andThen(ctx.limits.release(held.slot), orStop(ctx, ctx.limits.tryAcquire(target)))

/**
 * The stop for a budget limit. `max_free_requests` is the run's share of each day's free quota:
 * it goes on after the reset (`--until-done` waits for it).
 */
const budgetStop = (e: BudgetExceeded, now: number): RunStopped => {
  if (e.limit === "max_cost_usd") return new RunStopped({ reason: "budget", message: e.message })
  if (e.limit !== "max_free_requests") return new RunStopped({ reason: "free-quota", message: e.message })
  const resetAtMs = Policy.nextUtcMidnight(new Date(now)).getTime()
  return new RunStopped({
    reason: "free-quota",
    message: `${e.message} for today; it resets at ${resetText(resetAtMs, now)}`,
    resetAtMs
  })
}

/**
 * Reserves the worst case; for a free model, one request of today's quota. Either may stop the
 * run; a refusal gives the pacing place `slot` back (it was not used).
 */
const reserve = (
  ctx: EngineContext,
  job: Job,
  slot: Slot,
  now: number
): Effect.Effect<Reservation, RunStopped> => {
  const reserved = Effect.catch(ctx.budget.reserve(job.worstCost, { free: job.free }), (e) =>
    Effect.andThen(
      ctx.limits.release(slot),
      e._tag === "BudgetExceeded" ? stopWith(ctx, budgetStop(e, now)) : stopWith(ctx, storeStop(e))
    )
  )
  return job.free
    ? Effect.flatMap(reserved, (r) => Effect.tapError(countFree(ctx, r, now), () => ctx.limits.release(slot)))
    : reserved
}

/** A free request counted in today's quota; the reservation given back when the quota is used up. */
const countFree = Effect.fnUntraced(function* (ctx: EngineContext, reservation: Reservation, now: number) {
  const day = Policy.utcDay(new Date(now))
  const id = globalThis.crypto.randomUUID()
  const consumed = yield* ctx.ledger.consume(ctx.fingerprint, day, 1, ctx.dailyLimit, id).pipe(
    Effect.catchTag("LedgerError", (e) =>
      Effect.suspend(() => {
        // the store may have counted it before it went away: the next run takes the count back
        ctx.emit({ type: "ledger-unsettled", fingerprint: ctx.fingerprint, day, id, at: now })
        return Effect.andThen(ctx.budget.release(reservation, { sent: false }), stopWith(ctx, storeStop(e)))
      })
    )
  )
  if (consumed.ok) return reservation
  yield* ctx.budget.release(reservation, { sent: false })
  const resetAtMs = Policy.nextUtcMidnight(new Date(now)).getTime()
  return yield* stopWith(
    ctx,
    new RunStopped({
      reason: "free-quota",
      message: `today's free-model quota is used up (${consumed.used}/${ctx.dailyLimit} requests); it resets at ${resetText(resetAtMs, now)}`,
      resetAtMs
    })
  )
})

/** Inside the in-flight bound: reserve, count and send, unless the slot has passed meanwhile. */
const sendInSlot = (
  ctx: EngineContext,
  job: Job,
  target: Target,
  held: HeldSlot,
  state: RequestState,
  ticket: Ticket | undefined
): Effect.Effect<Sent | "late", RunStopped> =>
  Effect.clockWith((clock) => {
    // a stop found here gives the held place back: it was not used
    const stopped = ctx.stopper.current()
    if (stopped !== undefined) return Effect.andThen(ctx.limits.release(held.slot), Effect.fail(stopped))
    const now = clock.currentTimeMillisUnsafe()
    if (now - held.at <= lateAfterMs(held.slot)) return goOut(ctx, job, held.slot, state, ticket, now)
    // the time read again after the store's answer: it names the day a free request is counted on
    return Effect.flatMap(
      retakeSlot(ctx, target, held),
      (slot): Effect.Effect<Sent | "late", RunStopped> =>
        slot === undefined
          ? Effect.succeed("late")
          : Effect.clockWith((c) => goOut(ctx, job, slot, state, ticket, c.currentTimeMillisUnsafe()))
    )
  })

/** Reserves, counts the attempt, puts it on record, and sends it. */
const goOut = (
  ctx: EngineContext,
  job: Job,
  slot: Slot,
  state: RequestState,
  ticket: Ticket | undefined,
  now: number
): Effect.Effect<Sent, RunStopped> =>
  Effect.flatMap(
    // refused (the budget, the day's free quota, a lost store): the place it held was not used
    reserve(ctx, job, slot, now),
    (reservation) => {
      state.attempt++
      const goesOut = Effect.clockWith((clock) => {
        if (ticket !== undefined) ctx.inFlight.markSent(ticket)
        ctx.emit({
          type: "attempt",
          ...job.ref,
          attempt: state.attempt,
          at: clock.currentTimeMillisUnsafe(),
          worst: Money.toPlain(job.worstCost),
          ...(job.free ? { free: true } : {})
        })
        // the attempt is on record before it goes out: a resume counts it
        return Effect.andThen(
          ctx.recorded,
          Effect.map(ctx.provider.send(job.request), (outcome): Sent => ({ reservation, outcome, slot }))
        )
      })
      // counted in its pacing windows from the moment it goes out, after the budget and the ledger:
      // the window sees what the provider sees (a slot no bucket paces has nothing to count)
      return slot.buckets.length === 0 ? goesOut : Effect.andThen(ctx.limits.touch(slot), goesOut)
    }
  )

/** Room in the provider's in-flight budget: at once when it fits, else a wait a stop cuts short. */
const admitted = (ctx: EngineContext, amount: Money.Usd) =>
  Effect.clockWith((clock) => {
    const ticket = ctx.inFlight.tryAdmit(amount, clock.currentTimeMillisUnsafe())
    return ticket !== undefined
      ? Effect.succeed(ticket)
      : ctx.stopper.untilStopped(ctx.inFlight.admit(amount))
  })

/**
 * One attempt, from pacing slot to settled cost. A paid request first waits for room in the
 * provider's in-flight spending budget (as learned), and holds its worst case there until settled.
 */
export const attemptOnce = (
  ctx: EngineContext,
  job: Job,
  key: string | undefined,
  target: Target,
  state: RequestState
): Effect.Effect<Completion, Retryable | RequestFailed | RunStopped> =>
  job.free || Money.isZero(job.worstCost)
    ? attemptPaced(ctx, job, key, target, state, undefined)
    : Effect.acquireUseRelease(
        admitted(ctx, job.worstCost),
        (ticket) => attemptPaced(ctx, job, key, target, state, ticket),
        (ticket) => ctx.inFlight.release(ticket)
      )

const attemptPaced = (
  ctx: EngineContext,
  job: Job,
  key: string | undefined,
  target: Target,
  state: RequestState,
  ticket: Ticket | undefined
): Effect.Effect<Completion, Retryable | RequestFailed | RunStopped> =>
  Effect.clockWith((clock) => {
    const stopped = ctx.stopper.current()
    if (stopped !== undefined) return Effect.fail(stopped)
    const inSlot = (held: HeldSlot) =>
      Effect.flatMap(
        // the run-wide in-flight bound covers the send, not the pacing wait: a step paced by a
        // slow rate limit does not hold permits other steps could use while it sleeps
        (job.inflight ?? identity)(sendInSlot(ctx, job, target, held, state, ticket)),
        (sent) =>
          sent === "late"
            ? attemptPaced(ctx, job, key, target, state, ticket)
            : afterSend(ctx, job, key, target, state, ticket, sent)
      )
    const at = clock.currentTimeMillisUnsafe()
    // no bucket paces it (most paid models): its slot is free now, with no wait for a stop to cut short
    const unpaced = ctx.limits.unpaced(target)
    return unpaced !== undefined
      ? inSlot({ slot: unpaced, at })
      : Effect.flatMap(waitForSlot(ctx, job, target, at), inSlot)
  })
