/**
 * Sends one request the way users rely on: from the cache when it can; otherwise paced by the
 * limits, counted in the free quota, reserved in the budget at its worst case, retried per the
 * retry schedule, and settled to what it actually cost. A 402, a 401, the daily free cap or a
 * budget that cannot fit the next request stops the whole run: no new request goes out, those in
 * flight settle.
 */
import * as Money from "@tollgate/pricing/Money"
import * as Policy from "@tollgate/pricing/Policy"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import { attemptOnce } from "./Attempt.ts"
import { failed } from "./AttemptOutcome.ts"
import { newRequestState, orStop, type Retryable } from "./AttemptState.ts"
import { Budget } from "./Budget.ts"
import { decodeReply } from "./ChatReply.ts"
import type { EngineConfig, EngineContext } from "./EngineContext.ts"
import * as InFlight from "./InFlight.ts"
import type { Completion, Job, RequestFailed, RunStopped } from "./Job.ts"
import { Limits, type Target } from "./Limits.ts"
import { Provider } from "./Provider.ts"
import { QuotaLedger } from "./QuotaLedger.ts"
import { cacheKey, ResponseCache } from "./ResponseCache.ts"
import { defaultRetryConfig } from "./Retry.ts"
import { retrySchedule } from "./RetrySchedule.ts"
import { makeStopper } from "./Stopper.ts"
import { readUsage } from "./Usage.ts"

export type { EngineConfig } from "./EngineContext.ts"
export type { EngineEvent } from "./EngineEvent.ts"
export {
  attemptKey,
  type Completion,
  type Job,
  type JobRef,
  labelOf,
  RequestFailed,
  RunStopped,
  type UsageCounts
} from "./Job.ts"

export interface EngineShape {
  readonly execute: (job: Job) => Effect.Effect<Completion, RequestFailed | RunStopped>
  /** Stops the run: later `execute` calls fail before sending. */
  readonly stop: (reason: RunStopped) => Effect.Effect<void>
  readonly stopped: Effect.Effect<RunStopped | undefined>
  /** The daily free tier a free model's reply named (`X-RateLimit-Limit`), when one did. */
  readonly learnedFreePerDay: Effect.Effect<number | undefined>
}

/**
 * Every attempt of one request, under the retry schedule; gives up with what it cost. `key`: the
 * cache key the reply is stored under, when the job uses the cache.
 */
const attemptAll = (ctx: EngineContext, job: Job, key: string | undefined) => {
  const target: Target = { fingerprint: ctx.fingerprint, modelId: job.models[0]?.id ?? "", free: job.free }
  const state = newRequestState()
  const attempt = attemptOnce(ctx, job, key, target, state)
  // most requests succeed at once: the schedule is made only for one that did not, and it sees
  // that first failure as it would have (its first attempt is the failure, replayed)
  const retried = (first: Retryable) => {
    let replay: Retryable | undefined = first
    const again = Effect.suspend(() => {
      const e = replay
      replay = undefined
      return e === undefined ? attempt : Effect.fail(e)
    })
    return Effect.retry(again, retrySchedule(ctx, job, target, state))
  }
  const gaveUp = (e: Retryable) =>
    Effect.fail(
      failed(job, state, `gave up after ${state.attempt} attempts: ${state.lastMessage}`, state.lastStatus, {
        invalidReply: e.reason === "invalid-reply"
      })
    )
  // the give-up handler is added only on the way to a retry: a request that succeeds at once passes one
  return Effect.catchTag(attempt, "Retryable", (first) =>
    Effect.catchTag(retried(first), "Retryable", gaveUp)
  )
}

/** A cached reply as a completion, read by the job's check as a fresh one is; undefined when it no longer passes it. */
const cachedCompletion = (job: Job, body: unknown): Completion | undefined => {
  const reply = decodeReply(body)
  const checked = job.check?.(reply)
  if (checked?._tag === "problem") return undefined
  return {
    body,
    reply,
    output: checked?.output,
    cached: true,
    attempts: 0,
    abandoned: 0,
    rateLimited: 0,
    cost: Money.zero,
    costSource: "cache",
    catalogCost: undefined,
    estimated: { catalog: Money.zero, bound: Money.zero },
    usage: readUsage(reply).counts,
    model: undefined
  }
}

type Pending = Deferred.Deferred<Completion, RequestFailed | RunStopped>

/** A request in flight for a cache key, and the identical ones waiting for its answer (most have none). */
interface Sending {
  readonly waiters: Array<Pending>
}

/**
 * From the cache when it has the reply; identical requests in flight share one send. A waiter's
 * deferred is made only when one comes: most requests have none to tell.
 */
const viaCache = (
  ctx: EngineContext,
  inflight: Map<string, Sending>,
  job: Job,
  key: string
): Effect.Effect<Completion, RequestFailed | RunStopped> =>
  Effect.flatMap(orStop(ctx, ctx.cache.get(key)), (hit) => {
    // a cached answer that no longer passes the step's check (damaged) is no answer: it is sent again
    const cached = hit === undefined ? undefined : cachedCompletion(job, hit)
    if (cached !== undefined)
      return Effect.clockWith((clock) => {
        ctx.emit({ type: "cache-hit", ...job.ref, at: clock.currentTimeMillisUnsafe() })
        return Effect.succeed(cached)
      })
    // looked up and joined (or taken) in one step, where no other fiber runs and no interrupt lands:
    // a sender that ended in between would leave a waiter untold, or a key held for good
    return Effect.uninterruptibleMask((restore) => {
      const sending = inflight.get(key)
      if (sending !== undefined) {
        const waiter = Deferred.makeUnsafe<Completion, RequestFailed | RunStopped>()
        sending.waiters.push(waiter)
        return restore(Deferred.await(waiter))
      }
      const mine: Sending = { waiters: [] }
      inflight.set(key, mine)
      return Effect.onExit(restore(attemptAll(ctx, job, key)), (exit) =>
        Effect.suspend(() => {
          inflight.delete(key)
          for (const waiter of mine.waiters) Deferred.doneUnsafe(waiter, exit)
          return Effect.void
        })
      )
    })
  })

export const make = Effect.fnUntraced(function* (config: EngineConfig) {
  const emit = config.onEvent ?? (() => {})
  const ctx: EngineContext = {
    fingerprint: config.fingerprint,
    provider: yield* Provider,
    limits: yield* Limits,
    ledger: yield* QuotaLedger,
    budget: yield* Budget,
    cache: yield* ResponseCache,
    inFlight: InFlight.make(),
    emit,
    recorded: config.recorded ?? Effect.void,
    dailyLimit: config.dailyLimit ?? Policy.freeRequestsPerDay(config.policy, config.creditsPurchasedUsd),
    retry: config.retry ?? defaultRetryConfig,
    stopper: yield* makeStopper(emit),
    learnedTier: yield* Ref.make<number | undefined>(undefined)
  }
  const inflight = new Map<string, Sending>()
  const execute = (job: Job): Effect.Effect<Completion, RequestFailed | RunStopped> =>
    ctx.stopper.unlessStopped(() =>
      job.useCache
        ? viaCache(ctx, inflight, job, job.cacheKey ?? cacheKey(job.request.baseUrl, job.request.body))
        : attemptAll(ctx, job, undefined)
    )
  return {
    execute,
    stop: ctx.stopper.stop,
    stopped: ctx.stopper.stopped,
    learnedFreePerDay: Ref.get(ctx.learnedTier)
  } satisfies EngineShape
})

export class Engine extends Context.Service<Engine, EngineShape>()("@tollgate/core/Engine") {
  static readonly layer = (config: EngineConfig) => Layer.effect(Engine, make(config))
}
