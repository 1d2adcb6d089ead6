/**
 * Sends one request the way users rely on: from the cache when it can; otherwise paced by the
 * limits, counted in the free quota, reserved in the budget at its worst case, retried per the
 * retry policy, and settled to what it actually cost. A 402, a 401, the daily free cap or a
 * budget that cannot fit the next request stops the whole run: no new request goes out, those in
 * flight settle.
 */
import { type Catalog, Cost, Money, Policy } from "@tollgate/pricing"
import { Clock, Context, Deferred, Duration, Effect, Layer, Random, Schema } from "effect"
import { identity } from "effect/Function"
import { Budget } from "./Budget.ts"
import { Limits, type Target } from "./Limits.ts"
import { type ChatRequest, Provider } from "./Provider.ts"
import { QuotaLedger } from "./QuotaLedger.ts"
import { cacheKey, ResponseCache } from "./ResponseCache.ts"
import { classify, defaultRetryConfig, type Outcome, type RetryConfig } from "./Retry.ts"

export interface Job {
  /** For events and messages, e.g. `summarize[3]`. */
  readonly label: string
  readonly request: ChatRequest
  /** The models the request may be billed at (a fallback list), first = primary. */
  readonly models: ReadonlyArray<Catalog.Model>
  /** Every model in the list is free: the request counts against the free quota and rpm. */
  readonly free: boolean
  /** The most this request can cost (prompt bound + max_tokens at the most expensive model). */
  readonly worstCost: Money.Usd
  readonly maxAttempts: number
  readonly useCache: boolean
  /** Bounds requests in flight (e.g. a Semaphore's `withPermits(1)`); held for the send only. */
  readonly inflight?: (<A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>) | undefined
  /** Checks a successful reply (e.g. JSON schema); a message fails the attempt (retried). */
  readonly check?: ((body: unknown) => string | undefined) | undefined
}

export interface UsageCounts {
  readonly promptTokens: number
  readonly completionTokens: number
  readonly reasoningTokens: number
  readonly cachedTokens: number
}

export interface Completion {
  readonly body: unknown
  readonly cached: boolean
  readonly attempts: number
  readonly rateLimited: number
  /** What this request cost in total, failed-but-billed attempts included. */
  readonly cost: Money.Usd
  /** `usage.cost` from the provider, or tokens × catalog prices when absent. */
  readonly costSource: "usage" | "catalog" | "cache"
  readonly catalogCost: Money.Usd | undefined
  readonly usage: UsageCounts | undefined
  readonly model: string | undefined
}

/** 429s with a provider-given wait that a request may wait out beyond its max_attempts. */
export const MAX_RATE_LIMITED = 10

export class RequestFailed extends Schema.TaggedError<RequestFailed>()("RequestFailed", {
  label: Schema.String,
  status: Schema.optional(Schema.Number),
  attempts: Schema.Number,
  message: Schema.String
}) {}

export class RunStopped extends Schema.TaggedError<RunStopped>()("RunStopped", {
  reason: Schema.Literals([
    "credits",
    "daily-free-quota",
    "unauthorized",
    "budget",
    "free-quota",
    "interrupted",
    "failed"
  ]),
  message: Schema.String,
  resetAtMs: Schema.optional(Schema.Number)
}) {}

export type EngineEvent =
  | { readonly type: "attempt"; readonly label: string; readonly attempt: number; readonly at: number }
  | {
      readonly type: "response"
      readonly label: string
      readonly attempt: number
      readonly status: number | undefined
      readonly at: number
      readonly cost: string | undefined
    }
  | {
      readonly type: "retry"
      readonly label: string
      readonly attempt: number
      readonly reason: string
      readonly delayMs: number
      readonly message: string
      readonly at: number
    }
  | {
      readonly type: "wait"
      readonly label: string
      readonly waitedMs: number
      readonly reason: string
      readonly at: number
    }
  | { readonly type: "cache-hit"; readonly label: string; readonly at: number }
  | {
      readonly type: "waiting"
      readonly label: string
      readonly delayMs: number
      readonly reason: string
      readonly at: number
    }
  | { readonly type: "stop"; readonly reason: string; readonly message: string; readonly at: number }

export interface EngineConfig {
  readonly fingerprint: string
  readonly policy: Policy.Policy
  readonly creditsPurchasedUsd: number
  readonly retry?: RetryConfig | undefined
  readonly onEvent?: ((e: EngineEvent) => void) | undefined
}

export interface EngineShape {
  readonly execute: (job: Job) => Effect.Effect<Completion, RequestFailed | RunStopped>
  /** Stops the run: later `execute` calls fail before sending. */
  readonly stop: (reason: RunStopped) => Effect.Effect<void>
  readonly stopped: Effect.Effect<RunStopped | undefined>
}

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0)

/** Token counts and the provider's `usage.cost` from a chat completion body. */
export const readUsage = (
  body: unknown
): { counts: UsageCounts | undefined; cost: Money.Usd | undefined } => {
  const usage = (body as { usage?: Record<string, unknown> } | null)?.usage
  if (typeof usage !== "object" || usage === null) return { counts: undefined, cost: undefined }
  const pd = usage.prompt_tokens_details as Record<string, unknown> | undefined
  const cd = usage.completion_tokens_details as Record<string, unknown> | undefined
  const counts: UsageCounts = {
    promptTokens: num(usage.prompt_tokens),
    completionTokens: num(usage.completion_tokens),
    reasoningTokens: num(cd?.reasoning_tokens),
    cachedTokens: num(pd?.cached_tokens)
  }
  const cost =
    typeof usage.cost === "number" && Number.isFinite(usage.cost) && usage.cost >= 0
      ? Money.fromNumber(usage.cost)
      : undefined
  return { counts, cost }
}

/** The catalog price of a reply: at the model that answered (from the body), else the primary. */
export const catalogCostOf = (
  job: Job,
  body: unknown,
  counts: UsageCounts | undefined,
  at: Date
): Money.Usd | undefined => {
  if (counts === undefined) return undefined
  const answered = (body as { model?: unknown } | null)?.model
  const model = job.models.find((m) => m.id === answered) ?? job.models[0]
  if (model === undefined) return undefined
  try {
    return Cost.cost(
      model,
      {
        promptTokens: counts.promptTokens,
        completionTokens: counts.completionTokens,
        reasoningTokens: Math.min(counts.reasoningTokens, counts.completionTokens),
        cachedTokens: Math.min(counts.cachedTokens, counts.promptTokens)
      },
      at
    ).total
  } catch {
    return undefined
  }
}

const resetText = (resetAtMs: number, nowMs: number): string => {
  const mins = Math.max(0, Math.ceil((resetAtMs - nowMs) / 60_000))
  return `${new Date(resetAtMs).toISOString().replace(".000Z", "Z")} (in ${Math.floor(mins / 60)}h ${mins % 60}m)`
}

export const make = Effect.fnUntraced(function* (config: EngineConfig) {
  const provider = yield* Provider
  const limits = yield* Limits
  const ledger = yield* QuotaLedger
  const budget = yield* Budget
  const cache = yield* ResponseCache
  const retryConfig = config.retry ?? defaultRetryConfig
  const emit = config.onEvent ?? (() => {})
  const dailyLimit = Policy.freeRequestsPerDay(config.policy, config.creditsPurchasedUsd)
  let stopped: RunStopped | undefined
  const stopLatch = yield* Deferred.make<void>()
  /** Runs a wait (pacing, backoff) that a stop cuts short: nothing has been sent during it. */
  const untilStopped = <A>(wait: Effect.Effect<A>): Effect.Effect<A, RunStopped> =>
    Effect.raceFirst(
      wait,
      Effect.andThen(
        Deferred.await(stopLatch),
        Effect.suspend(() => Effect.fail(stopped!))
      )
    )
  const inflight = new Map<string, Deferred.Deferred<Completion, RequestFailed | RunStopped>>()

  const stop = (reason: RunStopped) =>
    Effect.flatMap(Clock.currentTimeMillis, (at) =>
      Effect.sync(() => {
        if (stopped !== undefined) return
        stopped = reason
        emit({ type: "stop", reason: reason.reason, message: reason.message, at })
      })
    ).pipe(Effect.andThen(Deferred.succeed(stopLatch, undefined)), Effect.asVoid)
  /** How late past its pacing slot a request may go out: half the tightest bucket's spacing. */
  const lateAfterMs = (target: Target): number => {
    const intervals = limits.buckets(target).map((b) => b.intervalMs)
    return intervals.length === 0 ? Number.POSITIVE_INFINITY : Math.min(...intervals) / 2
  }
  const failIfStopped = Effect.suspend(() => (stopped === undefined ? Effect.void : Effect.fail(stopped)))

  const attemptAll = (job: Job, key: string): Effect.Effect<Completion, RequestFailed | RunStopped> =>
    Effect.gen(function* () {
      const target: Target = {
        fingerprint: config.fingerprint,
        modelId: job.models[0]?.id ?? "",
        free: job.free
      }
      let spent = Money.zero
      let rateLimited = 0
      let lastMessage = "no attempt made"
      let lastStatus: number | undefined
      // `attempt` numbers every try; `counted` is what max_attempts limits: a 429 the provider
      // told us how long to wait out does not use one up (up to MAX_RATE_LIMITED of them)
      let counted = 0
      let attempt = 0
      while (counted < job.maxAttempts) {
        attempt++
        counted++
        yield* failIfStopped
        const waitStart = yield* Clock.currentTimeMillis
        const wait = yield* untilStopped(
          limits.acquire(target, (delayMs, reason) =>
            emit({ type: "waiting", label: job.label, delayMs, reason, at: waitStart })
          )
        )
        if (wait.waitedMs > 0 && wait.reason !== undefined)
          emit({
            type: "wait",
            label: job.label,
            waitedMs: wait.waitedMs,
            reason: wait.reason,
            at: yield* Clock.currentTimeMillis
          })
        const slotAt = yield* Clock.currentTimeMillis
        // the run-wide in-flight bound covers the send, not the pacing wait above: a step paced
        // by a slow rate limit does not hold permits other steps could use while it sleeps
        const sent = yield* (job.inflight ?? identity)(
          Effect.gen(function* () {
            yield* failIfStopped
            const now = yield* Clock.currentTimeMillis
            // waited so long for a permit that our pacing slot has passed: take a new slot
            if (now - slotAt > lateAfterMs(target)) return { _tag: "late" } as const
            const reservation = yield* budget.reserve(job.worstCost, { free: job.free }).pipe(
              Effect.catchTag("BudgetExceeded", (e) => {
                const reason = new RunStopped({
                  reason: e.limit === "max_cost_usd" ? "budget" : "free-quota",
                  message: e.message
                })
                return Effect.andThen(stop(reason), Effect.fail(reason))
              })
            )
            if (job.free) {
              const day = Policy.utcDay(new Date(now))
              const consumed = yield* ledger
                .consume(config.fingerprint, day, 1, dailyLimit)
                .pipe(Effect.orDie)
              if (!consumed.ok) {
                yield* budget.release(reservation, { sent: false })
                const resetAt = Policy.nextUtcMidnight(new Date(now)).getTime()
                const reason = new RunStopped({
                  reason: "free-quota",
                  message: `today's free-model quota is used up (${consumed.used}/${dailyLimit} requests); it resets at ${resetText(resetAt, now)}`,
                  resetAtMs: resetAt
                })
                yield* stop(reason)
                return yield* reason
              }
            }
            emit({ type: "attempt", label: job.label, attempt, at: now })
            const outcome: Outcome = yield* provider.send(job.request)
            return { _tag: "sent", reservation, outcome } as const
          })
        )
        if (sent._tag === "late") {
          attempt--
          counted--
          continue
        }
        const { reservation, outcome } = sent
        const after = yield* Clock.currentTimeMillis
        const random = yield* Random.next
        let decision = classify(outcome, { attempt, nowMs: after, random, config: retryConfig })
        const status = outcome._tag === "Response" ? outcome.status : undefined
        lastStatus = status
        if (decision._tag === "Success" && outcome._tag === "Response") {
          const { counts, cost: reported } = readUsage(outcome.body)
          const catalogCost = catalogCostOf(job, outcome.body, counts, new Date(after))
          const actual = reported ?? catalogCost ?? job.worstCost
          yield* budget.settle(reservation, actual)
          spent = Money.add(spent, actual)
          emit({
            type: "response",
            label: job.label,
            attempt,
            status,
            at: after,
            cost: Money.toPlain(actual)
          })
          const problem = job.check?.(outcome.body)
          if (problem === undefined) {
            if (job.useCache) yield* cache.set(key, outcome.body)
            return {
              body: outcome.body,
              cached: false,
              attempts: attempt,
              rateLimited,
              cost: spent,
              costSource: reported !== undefined ? "usage" : "catalog",
              catalogCost,
              usage: counts,
              model:
                typeof (outcome.body as { model?: unknown }).model === "string"
                  ? (outcome.body as { model: string }).model
                  : undefined
            } satisfies Completion
          }
          decision = {
            _tag: "Retry",
            delayMs: 0,
            reason: "invalid-reply",
            fromProvider: false,
            message: problem
          }
        } else {
          // a request abandoned mid-flight (timeout, reset) may still be billed: the budget keeps
          // its worst case; an error the provider answered is not billed
          if (outcome._tag === "Transport" && (outcome.reason === "timeout" || outcome.reason === "reset"))
            yield* budget.settle(reservation, job.worstCost)
          else yield* budget.release(reservation, { sent: true })
          emit({ type: "response", label: job.label, attempt, status, at: after, cost: undefined })
        }
        switch (decision._tag) {
          case "Success":
            break
          case "Fail":
            return yield* new RequestFailed({
              label: job.label,
              status: decision.status,
              attempts: attempt,
              message: decision.message
            })
          case "Stop": {
            const message =
              decision.reason === "credits"
                ? `out of credits (402: ${decision.message}); add credits at https://openrouter.ai/settings/credits and run again to resume`
                : decision.reason === "unauthorized"
                  ? `the API key was refused (401: ${decision.message}); check the key in the environment`
                  : `the provider's daily free-model cap is reached (${decision.message}); it resets at ${resetText(decision.resetAtMs ?? after, after)}`
            const reason = new RunStopped({
              reason: decision.reason,
              message,
              ...(decision.resetAtMs !== undefined ? { resetAtMs: decision.resetAtMs } : {})
            })
            yield* stop(reason)
            return yield* reason
          }
          case "Retry": {
            lastMessage = decision.message
            if (decision.reason === "rate-limited") {
              rateLimited++
              if (decision.fromProvider && rateLimited <= MAX_RATE_LIMITED) counted--
            }
            if (counted >= job.maxAttempts) break
            emit({
              type: "retry",
              label: job.label,
              attempt,
              reason: decision.reason,
              delayMs: decision.delayMs,
              message: decision.message,
              at: after
            })
            if (decision.reason === "rate-limited" && decision.fromProvider) {
              // the whole bucket waits, not only this request
              yield* limits.pause(target, after + decision.delayMs)
            } else if (decision.delayMs > 0) {
              yield* untilStopped(Effect.sleep(Duration.millis(decision.delayMs)))
            }
          }
        }
      }
      return yield* new RequestFailed({
        label: job.label,
        status: lastStatus,
        attempts: attempt,
        message: `gave up after ${attempt} attempts: ${lastMessage}`
      })
    })

  const execute = (job: Job): Effect.Effect<Completion, RequestFailed | RunStopped> =>
    Effect.gen(function* () {
      yield* failIfStopped
      const key = cacheKey(job.request.baseUrl, job.request.body)
      if (job.useCache) {
        const hit = yield* cache.get(key)
        if (hit !== undefined) {
          emit({ type: "cache-hit", label: job.label, at: yield* Clock.currentTimeMillis })
          const { counts } = readUsage(hit)
          return {
            body: hit,
            cached: true,
            attempts: 0,
            rateLimited: 0,
            cost: Money.zero,
            costSource: "cache",
            catalogCost: undefined,
            usage: counts,
            model: undefined
          } satisfies Completion
        }
        // identical requests in flight share one send
        const pending = inflight.get(key)
        if (pending !== undefined) return yield* Deferred.await(pending)
        const deferred = yield* Deferred.make<Completion, RequestFailed | RunStopped>()
        inflight.set(key, deferred)
        return yield* attemptAll(job, key).pipe(
          Effect.onExit((exit) =>
            Effect.andThen(
              Deferred.done(deferred, exit),
              Effect.sync(() => inflight.delete(key))
            )
          )
        )
      }
      return yield* attemptAll(job, key)
    })

  return { execute, stop, stopped: Effect.sync(() => stopped) } satisfies EngineShape
})

export class Engine extends Context.Service<Engine, EngineShape>()("@tollgate/core/Engine") {
  static readonly layer = (config: EngineConfig) => Layer.effect(Engine, make(config))
}
