/**
 * One attempt at a request: wait for its pacing slot, reserve its worst case in the budget,
 * count it in the free quota, send it, and settle what it cost. A reply the policy says to retry
 * fails with `Retryable`; the retry schedule (`RetrySchedule.ts`) decides whether to go again.
 */
import * as Money from "@tollgate/pricing/Money"
import * as Policy from "@tollgate/pricing/Policy"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { identity } from "effect/Function"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import type { BudgetExceeded, Reservation } from "./Budget.ts"
import { type ChatReply, decodeReply } from "./ChatReply.ts"
import type { EngineContext } from "./EngineContext.ts"
import type { Ticket } from "./InFlight.ts"
import { type Completion, type Job, labelOf, RequestFailed, RunStopped } from "./Job.ts"
import type { Slot, Target } from "./Limits.ts"
import type { Outcome } from "./Provider.ts"
import { classify, type Decision, rateHeaders } from "./Retry.ts"
import { StoreLost } from "./StoreLost.ts"
import { catalogCostOf, readUsage } from "./Usage.ts"

/** What one request's attempts have used so far. */
export interface RequestState {
  attempt: number
  /** Attempts that timed out: the provider may still bill them, so they count at their worst case. */
  abandoned: number
  rateLimited: number
  /** Billed across attempts, failed-but-billed ones included. */
  spent: Money.Usd
  /** Of `spent`, estimated as tokens × catalog (no `usage.cost`), and at worst cases (no usage, timed out). */
  estimatedCatalog: Money.Usd
  estimatedBound: Money.Usd
  lastStatus: number | undefined
  lastMessage: string
}

export const newRequestState = (): RequestState => ({
  attempt: 0,
  abandoned: 0,
  rateLimited: 0,
  spent: Money.zero,
  estimatedCatalog: Money.zero,
  estimatedBound: Money.zero,
  lastStatus: undefined,
  lastMessage: "no attempt made"
})

/** An attempt the policy says may be tried again, after `delayMs`. */
export class Retryable extends Schema.TaggedError<Retryable>()("Retryable", {
  reason: Schema.String,
  /** How long the request waits; a provider-given pause is waited out by the whole bucket. */
  delayMs: Schema.Number,
  /** A 429 whose wait the provider gave: it does not use up `max_attempts`. */
  providerWait: Schema.Boolean,
  message: Schema.String,
  at: Schema.Number
}) {}

type HeldSlot = { readonly slot: Slot; readonly at: number }

type Sent = { readonly reservation: Reservation; readonly outcome: Outcome; readonly slot: Slot }

const resetText = (resetAtMs: number, nowMs: number): string => {
  const mins = Math.max(0, Math.ceil((resetAtMs - nowMs) / 60_000))
  return `${Policy.isoInstant(new Date(resetAtMs))} (in ${Math.floor(mins / 60)}h ${mins % 60}m)`
}

const stopWith = (ctx: EngineContext, reason: RunStopped) =>
  Effect.andThen(ctx.stopper.stop(reason), Effect.fail(reason))

/** The shared store stopped answering (or the ledger failed): no new request; those in flight settle. */
const storeStop = (e: { readonly message: string }) =>
  new RunStopped({ reason: "store", message: `${e.message}; no new requests, those in flight are recorded` })

/** Runs a store operation; losing the store stops the run. */
export const orStop = <A, E>(ctx: EngineContext, op: Effect.Effect<A, E | StoreLost>) =>
  Effect.catchIf(
    op,
    (e): e is StoreLost => e instanceof StoreLost,
    (e) => stopWith(ctx, storeStop(e))
  )

/**
 * How late past its pacing slot a request may go out: half the shortest window. Its place moves
 * to the moment it is sent (`touch`), which is right as long as the place has not yet left the
 * window; a request held longer (waiting for an in-flight permit) gives its place back and takes
 * a new one, so a window never counts a place that was not used.
 */
const lateAfterMs = (slot: Slot): number =>
  slot.buckets.length === 0 ? Number.POSITIVE_INFINITY : Math.min(...slot.buckets.map((b) => b.windowMs)) / 2

/** Waits for the target's pacing slot (a stop cuts the wait short); returns it and when it came. */
const acquireSlot = (ctx: EngineContext, job: Job, target: Target): Effect.Effect<HeldSlot, RunStopped> =>
  Effect.clockWith((clock) => {
    const at = clock.currentTimeMillisUnsafe()
    // no bucket paces it (most paid models): its slot is free now, with no wait for a stop to cut short
    const unpaced = ctx.limits.unpaced(target)
    return unpaced !== undefined ? Effect.succeed({ slot: unpaced, at }) : waitForSlot(ctx, job, target, at)
  })

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

/** Reserves the worst case; for a free model, one request of today's quota. Either may stop the run. */
const reserve = (ctx: EngineContext, job: Job, now: number): Effect.Effect<Reservation, RunStopped> => {
  const reserved = orStop(ctx, ctx.budget.reserve(job.worstCost, { free: job.free })).pipe(
    Effect.catchTag("BudgetExceeded", (e) => stopWith(ctx, budgetStop(e, now)))
  )
  return job.free ? Effect.flatMap(reserved, (r) => countFree(ctx, r, now)) : reserved
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
  ctx.stopper.unlessStopped(() =>
    Effect.clockWith((clock) => {
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
  )

/** Reserves, counts the attempt, puts it on record, and sends it. */
const goOut = (
  ctx: EngineContext,
  job: Job,
  slot: Slot,
  state: RequestState,
  ticket: Ticket | undefined,
  now: number
): Effect.Effect<Sent, RunStopped> =>
  Effect.flatMap(reserve(ctx, job, now), (reservation) => {
    state.attempt++
    // counted from the moment it goes out, after the budget and the ledger: the window sees what the provider sees
    const counted =
      ticket === undefined
        ? ctx.limits.touch(slot)
        : Effect.andThen(ctx.limits.touch(slot), ctx.inFlight.markSent(ticket))
    return Effect.andThen(
      counted,
      Effect.clockWith((clock) => {
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
    )
  })

/** A 2xx reply: settle its cost, then accept it or, when its check fails, ask for a retry. */
const onReply = (
  ctx: EngineContext,
  job: Job,
  key: string | undefined,
  sent: Sent & { readonly outcome: { readonly _tag: "Response" } },
  reply: ChatReply,
  state: RequestState,
  at: number
): Effect.Effect<Completion, Retryable> => {
  const body = sent.outcome.body
  const { counts, cost: reported } = readUsage(reply)
  const catalogCost = catalogCostOf(job, reply, counts, new Date(at))
  const actual = reported ?? catalogCost ?? job.worstCost
  return Effect.flatMap(ctx.budget.settle(sent.reservation, actual), () => {
    state.spent = Money.add(state.spent, actual)
    if (reported === undefined && catalogCost !== undefined)
      state.estimatedCatalog = Money.add(state.estimatedCatalog, actual)
    if (reported === undefined && catalogCost === undefined)
      state.estimatedBound = Money.add(state.estimatedBound, actual)
    const status = sent.outcome.status
    ctx.emit({
      type: "response",
      ...job.ref,
      attempt: state.attempt,
      status,
      at,
      cost: Money.toPlain(actual)
    })
    const checked = job.check?.(reply)
    if (checked?._tag === "problem") {
      state.lastMessage = checked.problem
      return Effect.fail(
        new Retryable({
          reason: "invalid-reply",
          delayMs: 0,
          providerWait: false,
          message: checked.problem,
          at
        })
      )
    }
    const completion: Completion = {
      body,
      reply,
      output: checked?.output,
      cached: false,
      attempts: state.attempt,
      abandoned: state.abandoned,
      rateLimited: state.rateLimited,
      cost: state.spent,
      costSource: reported !== undefined ? "usage" : catalogCost !== undefined ? "catalog" : "bound",
      catalogCost,
      estimated: { catalog: state.estimatedCatalog, bound: state.estimatedBound },
      usage: counts,
      model: reply.model
    }
    if (key === undefined) return Effect.succeed(completion)
    // the reply is paid for: a lost store stops the run, but this answer is still returned and recorded
    return ctx.cache.set(key, body).pipe(
      Effect.catchTag("StoreLost", (e) => ctx.stopper.stop(storeStop(e))),
      Effect.as(completion)
    )
  })
}

/**
 * Not a usable reply. A request abandoned mid-flight (timeout, reset) may still be billed, so the
 * budget keeps its worst case; an error the provider answered is not billed.
 */
const onNoReply = (ctx: EngineContext, job: Job, sent: Sent, state: RequestState, at: number) => {
  const o = sent.outcome
  const cutOff = o._tag === "Transport" && (o.reason === "timeout" || o.reason === "reset")
  const status = o._tag === "Response" ? o.status : undefined
  // a timed-out request was abandoned by us while the provider kept working: reported at its worst case
  const timedOut = o._tag === "Transport" && o.reason === "timeout"
  if (timedOut) {
    state.abandoned++
    state.spent = Money.add(state.spent, job.worstCost)
    state.estimatedBound = Money.add(state.estimatedBound, job.worstCost)
  }
  const cost = timedOut ? Money.toPlain(job.worstCost) : undefined
  ctx.emit({ type: "response", ...job.ref, attempt: state.attempt, status, at, cost })
  return cutOff
    ? ctx.budget.settle(sent.reservation, job.worstCost)
    : ctx.budget.release(sent.reservation, { sent: true })
}

/** A request bigger than the provider's whole in-flight budget: what would fit. */
const tooBigMessage = (d: Extract<Decision, { _tag: "Stop" }>, job: Job): string => {
  const maxTokens = Number(job.request.body.max_tokens)
  const requested = /requested up to (\d+)/i.exec(d.message)
  const fit =
    d.affordTokens !== undefined && requested !== null && Number.isFinite(maxTokens)
      ? Math.max(0, maxTokens - (Number(requested[1]) - d.affordTokens))
      : undefined
  const step = job.ref.step
  return `step "${step}": a request with max_tokens ${Number.isFinite(maxTokens) ? maxTokens : "?"} is more than the provider's in-flight spending budget allows (402: ${d.message})${fit !== undefined ? `; max_tokens ${fit} or less would fit` : ""}, or add credits to raise the budget`
}

const stopMessage = (d: Extract<Decision, { _tag: "Stop" }>, job: Job, at: number): string =>
  d.reason === "credits"
    ? `out of credits (402: ${d.message}); add credits at https://openrouter.ai/settings/credits and run again to resume`
    : d.reason === "provider-budget"
      ? `${d.message}; ${d.resetAtMs !== undefined ? `it resets at ${resetText(d.resetAtMs, at)}` : "raise it"}, then run again to resume`
      : d.reason === "request-too-big"
        ? tooBigMessage(d, job)
        : d.reason === "unauthorized"
          ? `the API key was refused (401: ${d.message}); check the key in the environment`
          : `the provider's daily free-model cap is reached (${d.message}); it resets at ${resetText(d.resetAtMs ?? at, at)}`

/** A failure said plainly: a request no endpoint would serve at the plan's prices names them. */
const failMessage = (job: Job, d: Extract<Decision, { _tag: "Fail" }>): string => {
  const cap = job.request.body.provider?.max_price
  if (d.status !== 404 || cap === undefined) return d.message
  return `no endpoint serves this request at or under the plan's prices (max_price $${cap.prompt}/M prompt, $${cap.completion}/M completion tokens): ${d.message}; allow a markup with provider.routing.price_markup (the plan then prices it)`
}

/** What the retry policy decided, as this attempt's failure. */
const onDecision = Effect.fnUntraced(function* (
  ctx: EngineContext,
  job: Job,
  decision: Exclude<Decision, { _tag: "Success" }>,
  state: RequestState,
  at: number
) {
  switch (decision._tag) {
    case "Fail":
      return yield* failed(job, state, failMessage(job, decision), decision.status)
    case "Stop": {
      // a job with another way to be answered fails alone; the run goes on
      if (decision.reason === "daily-free-quota" && job.freeQuotaFails === true)
        return yield* failed(job, state, stopMessage(decision, job, at), 429, { freeQuota: true })
      const resetAtMs = decision.resetAtMs !== undefined ? { resetAtMs: decision.resetAtMs } : {}
      return yield* stopWith(
        ctx,
        new RunStopped({ reason: decision.reason, message: stopMessage(decision, job, at), ...resetAtMs })
      )
    }
    case "Retry": {
      state.lastMessage = decision.message
      // a wait the provider gave for a limit (rate, in-flight budget) does not use up max_attempts
      const limited = decision.reason === "rate-limited" || decision.reason === "in-flight-budget"
      // the in-flight budget refuses for room, not for the request: never a spent attempt
      const providerWait = decision.reason === "in-flight-budget" || (limited && decision.fromProvider)
      if (limited) state.rateLimited++
      return yield* new Retryable({
        reason: decision.reason,
        delayMs: decision.delayMs,
        providerWait,
        message: decision.message,
        at
      })
    }
  }
})

/** The request failed for good, with what its attempts cost. */
export const failed = (
  job: Job,
  state: RequestState,
  message: string,
  status = state.lastStatus,
  extra: { readonly invalidReply?: boolean; readonly freeQuota?: boolean } = {}
) =>
  new RequestFailed({
    label: labelOf(job.ref),
    ...(status !== undefined ? { status } : {}),
    ...(extra.invalidReply === true ? { invalidReply: true } : {}),
    ...(extra.freeQuota === true ? { freeQuota: true } : {}),
    attempts: state.attempt,
    abandoned: state.abandoned,
    rateLimited: state.rateLimited,
    costUsd: Money.toPlain(state.spent),
    estimatedCatalogUsd: Money.toPlain(state.estimatedCatalog),
    estimatedBoundUsd: Money.toPlain(state.estimatedBound),
    message
  })

/**
 * The daily free tier a free-model reply names: its `X-RateLimit-Limit`, when it is a daily
 * figure: on the daily cap's own 429, whatever it is (a tier of 15 too); on a 2xx, one of 50 or
 * more (OpenRouter's are 50 and 1,000; a per-minute limit is far lower).
 */
export const freeTierOf = (
  job: Job,
  status: number,
  limit: number | undefined,
  dailyCap: boolean
): number | undefined =>
  job.free && limit !== undefined && limit > 0 && (dailyCap || (status >= 200 && status < 300 && limit >= 50))
    ? limit
    : undefined

/** Room in the provider's in-flight budget: at once when it fits, else a wait a stop cuts short. */
const admitted = (ctx: EngineContext, amount: Money.Usd) =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const ticket = ctx.inFlight.tryAdmit(amount, now)
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
  ctx.stopper.unlessStopped(() =>
    Effect.flatMap(acquireSlot(ctx, job, target), (held) =>
      Effect.flatMap(
        // the run-wide in-flight bound covers the send, not the pacing wait above: a step paced
        // by a slow rate limit does not hold permits other steps could use while it sleeps
        (job.inflight ?? identity)(sendInSlot(ctx, job, target, held, state, ticket)),
        (sent) =>
          sent === "late"
            ? attemptPaced(ctx, job, key, target, state, ticket)
            : afterSend(ctx, job, key, target, state, ticket, sent)
      )
    )
  )

/** What came back: the reply settled and checked, or the failure the retry policy makes of it. */
const afterSend = (
  ctx: EngineContext,
  job: Job,
  key: string | undefined,
  target: Target,
  state: RequestState,
  ticket: Ticket | undefined,
  sent: Sent
): Effect.Effect<Completion, Retryable | RequestFailed | RunStopped> =>
  Effect.withFiber((fiber) => {
    const at = fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()
    const random = fiber.getRef(Random.Random).nextDoubleUnsafe()
    // the body decoded once: its error decides the retry, the rest is the answer
    const reply = sent.outcome._tag === "Response" ? decodeReply(sent.outcome.body) : undefined
    const decision = classify(
      sent.outcome,
      { attempt: state.attempt, nowMs: at, random, config: ctx.retry },
      reply?.error
    )
    state.lastStatus = sent.outcome._tag === "Response" ? sent.outcome.status : undefined
    const observed =
      sent.outcome._tag === "Response" ? observe(ctx, job, target, sent.outcome, decision, at) : Effect.void
    if (decision._tag === "Success" && sent.outcome._tag === "Response" && reply !== undefined) {
      return Effect.andThen(
        observed,
        onReply(ctx, job, key, { ...sent, outcome: sent.outcome }, reply, state, at)
      )
    }
    return Effect.andThen(observed, onFailure(ctx, job, state, ticket, sent, decision, at))
  })

/** A reply's rate-limit headers taught to the limits, and a free tier it names learned. */
const observe = (
  ctx: EngineContext,
  job: Job,
  target: Target,
  outcome: Extract<Outcome, { readonly _tag: "Response" }>,
  decision: Decision,
  at: number
): Effect.Effect<void, RunStopped> => {
  const headers = rateHeaders(outcome.headers)
  const dailyCap = decision._tag === "Stop" && decision.reason === "daily-free-quota"
  const tier = freeTierOf(job, outcome.status, headers.limit, dailyCap)
  const observed = orStop(ctx, ctx.limits.observe(target, headers))
  if (tier === undefined) return observed
  return Effect.andThen(
    observed,
    Effect.andThen(
      Ref.set(ctx.learnedTier, tier),
      Effect.sync(() => ctx.emit({ type: "free-tier", perDay: tier, at }))
    )
  )
}

/** Not a usable reply: settled, the limits taught, and the policy's decision as this attempt's failure. */
const onFailure = Effect.fnUntraced(function* (
  ctx: EngineContext,
  job: Job,
  state: RequestState,
  ticket: Ticket | undefined,
  sent: Sent,
  decision: Decision,
  at: number
) {
  yield* onNoReply(ctx, job, sent, state, at)
  if (decision._tag === "Success") return yield* failed(job, state, "transport reported success")
  // a 429 we did not see coming: the provider is stricter than we thought; the bucket learns
  if (decision._tag === "Retry" && decision.reason === "rate-limited")
    yield* orStop(
      ctx,
      ctx.limits.refused(sent.slot, decision.limitHint, decision.fromProvider ? decision.delayMs : undefined)
    )
  // refused for the in-flight budget: hold what is in flight under what the provider allowed
  if (decision._tag === "Retry" && decision.reason === "in-flight-budget" && ticket !== undefined)
    yield* ctx.inFlight.refused(ticket)
  return yield* onDecision(ctx, job, decision, state, at)
})
