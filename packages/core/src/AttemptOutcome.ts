/**
 * What an attempt's answer comes to: a 2xx reply settled at its cost and checked; anything else
 * settled (or released), taught to the limits, and made this attempt's failure by the retry
 * policy: `Retryable`, `RequestFailed`, or a stop of the run.
 */
import * as Money from "@tollgate/pricing/Money"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import {
  orStop,
  type RequestState,
  Retryable,
  resetText,
  type Sent,
  stopWith,
  storeStop
} from "./AttemptState.ts"
import { type ChatReply, decodeReply } from "./ChatReply.ts"
import type { EngineContext } from "./EngineContext.ts"
import type { Ticket } from "./InFlight.ts"
import { type Completion, type Job, labelOf, RequestFailed, RunStopped } from "./Job.ts"
import type { Target } from "./Limits.ts"
import type { Outcome } from "./Provider.ts"
import { classify, type Decision, rateHeaders } from "./Retry.ts"
import { catalogCostOf, readUsage } from "./Usage.ts"

/** What came back: the reply settled and checked, or the failure the retry policy makes of it. */
export const afterSend = (
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
    return ctx.cache.set(key, body, sent.outcome.text).pipe(
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
