/**
 * Executes a planned pipeline through `@tollgate/core`: the engine over the store's layers and
 * the chosen provider, the steps as a DAG, and the outcome of it all (status, tallies, outputs).
 */
import type { BudgetLimits } from "@tollgate/core/Budget"
import { Engine, RunStopped } from "@tollgate/core/Engine"
import { QuotaLedger } from "@tollgate/core/QuotaLedger"
import { type CacheStats, ResponseCache } from "@tollgate/core/ResponseCache"
import * as Scheduler from "@tollgate/core/Scheduler"
import * as Money from "@tollgate/pricing/Money"
import * as Policy from "@tollgate/pricing/Policy"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as MutableList from "effect/MutableList"
import type * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Semaphore from "effect/Semaphore"
import { unlimitedPolicy } from "../account/AccountPolicy.ts"
import { dependencies, referencedSteps } from "../dsl/Graph.ts"
import type { Pipeline } from "../dsl/Pipeline.ts"
import type { Sample } from "../plan/Calibration.ts"
import { cacheOptionsOf, type Planned } from "../plan/Plan.ts"
import { type KeyVariables, keyFor } from "../providers/KeyRoute.ts"
import { Providers } from "../providers/Providers.ts"
import { Settings } from "../Settings.ts"
import { StateStore } from "../store/StateStore.ts"
import type { OnEvent } from "./Events.ts"
import { renderOutputs } from "./Outputs.ts"
import type { Records } from "./Records.ts"
import type { RunContext, RunFailure, StepOutputs } from "./RunContext.ts"
import type { Split } from "./Shards.ts"
import { runStep } from "./Step.ts"
import { emptyActual, type StepActual } from "./Tally.ts"

export type RunStatus = "completed" | "failed" | "stopped" | "interrupted"

export interface RunOutcome {
  readonly status: RunStatus
  /** Why the run stopped or failed, for the user. */
  readonly reason: string | undefined
  /** `credits`, `daily-free-quota`, `budget`, `free-quota`, `unauthorized`, `interrupted`, `step-failed`. */
  readonly stopKind: string | undefined
  readonly steps: ReadonlyMap<string, StepActual>
  readonly outputs: Record<string, unknown>
  readonly stepOutputs: StepOutputs
  readonly durationMs: number
  readonly cost: Money.Usd
  readonly cacheStats: CacheStats
  /** The replies came from a real provider (not echo or offline): only those teach the plan. */
  readonly fromProvider: boolean
  /** What the run teaches the plan (real provider replies only). */
  readonly samples: ReadonlyArray<Sample>
  /** Stopped by a daily free quota: when it resets (epoch ms). */
  readonly resetAtMs: number | undefined
  /** The daily free tier the provider's replies named (`X-RateLimit-Limit`), if any. */
  readonly learnedFreePerDay: number | undefined
}

export interface ExecuteOptions {
  readonly planned: Planned
  readonly records: Records
  /** The key variables (read at the edge), by name. */
  readonly keys: KeyVariables
  readonly noCache: boolean
  readonly concurrency: number | undefined
  readonly onEvent: OnEvent
  /** Completes when the user asks to stop (SIGINT): no new requests, those in flight settle. */
  readonly interrupted?: Effect.Effect<void> | undefined
  /** One shard of a split run, or its merge. */
  readonly split?: Split | undefined
  /** The key to send with instead of the pipeline's (one minted for the run, capped at its budget). */
  readonly apiKey?: Redacted.Redacted<string> | undefined
  /** When the run started (epoch ms, from `Clock`): the day its budget counts free requests on. */
  readonly startedAt: number
}

/**
 * The plan's budget (`--max-cost` already applied) as the engine's limits. A shard gets its
 * share of `max_cost_usd` (1/n), so n shards together stay within it, unless the shards draw on
 * one pool (`budget.shared` in a shared store): then the pool holds them all to the whole of it.
 * A merge counts what the shards spent as spent before it.
 */
export const budgetOf = (
  planned: Planned,
  records: Records,
  split: Split | undefined,
  now: Date,
  pooled: boolean
): BudgetLimits => {
  const b = planned.projection.budget
  const share = split?.kind === "shard" && !pooled ? split.shard.count : 1
  return {
    maxCostUsd: b.maxCostUsd !== undefined ? Money.share(Money.fromNumber(b.maxCostUsd), share) : undefined,
    maxRequests: b.maxRequests,
    // the run's share of each day's free quota: less what its earlier processes sent today
    maxFreeRequests:
      b.maxFreeRequests !== undefined
        ? Math.max(0, b.maxFreeRequests - records.freeSentOn(Policy.utcDay(now)))
        : undefined
  }
}

/** The run draws on a budget pool that other processes share (`budget.shared` in a shared store). */
export const pooled = (pipeline: Pipeline, store: { readonly shared: boolean }): boolean =>
  pipeline.budget.shared !== undefined && store.shared

/** The engine over the store's layers and the provider for this run. */
const engineLayer = Effect.fnUntraced(function* (opts: ExecuteOptions, account: boolean) {
  const store = yield* StateStore
  const providers = yield* Providers
  const { planned } = opts
  const pipeline = planned.validated.pipeline
  // the local echo and offline providers are not an account: no pacing, no quota
  const policy = account ? planned.policy : unlimitedPolicy
  const services = store.runLayer({
    policy,
    balanceUsd: planned.account.balanceUsd.value,
    cache: opts.noCache ? false : cacheOptionsOf(pipeline, yield* Settings),
    budget: budgetOf(planned, opts.records, opts.split, new Date(opts.startedAt), pooled(pipeline, store)),
    spentBefore: opts.records.spentBefore,
    sharedPool: pipeline.budget.shared,
    local: !account
  })
  const provider = providers.layerFor({
    baseUrl: planned.baseUrl,
    apiKey: opts.apiKey ?? keyFor(opts.keys, pipeline.apiKeyEnv, planned.baseUrl, planned.baseUrlGiven),
    headers: pipeline.headers,
    connections: Math.max(8, opts.concurrency ?? pipeline.concurrency)
  })
  return Engine.layer({
    fingerprint: planned.fingerprint,
    policy,
    creditsPurchasedUsd: planned.account.creditsPurchasedUsd.value,
    // the day's free quota less what the account's other keys and clients used (the provider's count)
    dailyLimit: account
      ? Math.max(0, planned.account.freePerDay.value - planned.projection.quota.freeUsedElsewhere)
      : undefined,
    onEvent: opts.onEvent,
    recorded: opts.records.durable
  }).pipe(Layer.provideMerge(Layer.mergeAll(services, provider)))
})

const statusOf = (failure: RunFailure | undefined, stopped: RunStopped | undefined, store: string) => {
  if (failure !== undefined)
    return { status: "failed" as const, stopKind: failure.kind, reason: failure.message }
  if (stopped === undefined) return { status: "completed" as const, stopKind: undefined, reason: undefined }
  return {
    status: stopped.reason === "interrupted" ? ("interrupted" as const) : ("stopped" as const),
    stopKind: stopped.reason,
    reason: stopped.reason === "store" ? `lost ${store}: ${stopped.message}` : stopped.message
  }
}

/** The steps as a DAG, with the engine in context; ends with the cache's stats. */
const runSteps = (opts: ExecuteOptions, ctx: Omit<RunContext, "engine" | "gate">) =>
  Effect.gen(function* () {
    const engine = yield* Engine
    const run: RunContext = { ...ctx, engine, gate: yield* Semaphore.make(ctx.concurrency) }
    if (opts.interrupted !== undefined)
      yield* Effect.forkScoped(
        Effect.andThen(
          opts.interrupted,
          engine.stop(
            new RunStopped({
              reason: "interrupted",
              message: "interrupted: no new requests; those in flight settled"
            })
          )
        )
      )
    // counts an earlier process made as the store died are taken back: those requests never went out
    const ledger = yield* QuotaLedger
    for (const u of opts.records.unsettled) yield* Effect.ignore(ledger.refund(u.fingerprint, u.day, u.id))
    const steps = opts.planned.validated.pipeline.steps
    yield* Scheduler.runDag(steps.map((s) => ({ id: s.id, needs: dependencies(s), run: runStep(run, s) })))
    const cacheStats = yield* (yield* ResponseCache).stats
    if (cacheStats.corrupt > 0)
      opts.onEvent({
        type: "cache-corrupt",
        count: cacheStats.corrupt,
        message: `${cacheStats.corrupt} damaged cache entr${cacheStats.corrupt === 1 ? "y was" : "ies were"} ignored and removed`
      })
    return {
      run,
      stopped: yield* engine.stopped,
      cacheStats,
      learnedFreePerDay: yield* engine.learnedFreePerDay
    }
  })

export const execute = Effect.fn("Execute.execute")(function* (opts: ExecuteOptions) {
  const started = yield* Clock.currentTimeMillis
  const pipeline = opts.planned.validated.pipeline
  const account = (yield* Providers).isAccount(opts.planned.baseUrl)
  const layer = yield* engineLayer(opts, account)
  const concurrency = Math.max(1, opts.concurrency ?? pipeline.concurrency)
  const ctx = {
    planned: opts.planned,
    records: opts.records,
    concurrency,
    noCache: opts.noCache,
    onEvent: opts.onEvent,
    referenced: referencedSteps(pipeline),
    actual: yield* Ref.make<ReadonlyMap<string, StepActual>>(
      new Map(pipeline.steps.map((s) => [s.id, emptyActual()]))
    ),
    stepOutputs: yield* Ref.make<StepOutputs>({}),
    split: opts.split,
    calibration: account ? { samples: MutableList.make<Sample>(), tokens: opts.planned.tokens } : undefined,
    failure: yield* Ref.make<RunFailure | undefined>(undefined),
    requestSpans: (yield* Settings).debug === true
  }
  const { run, stopped, cacheStats, learnedFreePerDay } = yield* runSteps(opts, ctx).pipe(
    Effect.provide(layer),
    Effect.scoped
  )
  const s = statusOf(yield* Ref.get(ctx.failure), stopped, (yield* StateStore).description)
  const steps = yield* Ref.get(ctx.actual)
  const stepOutputs = yield* Ref.get(ctx.stepOutputs)
  return {
    ...s,
    steps,
    // a shard's outputs read steps left to the merge: the merge renders them
    outputs:
      s.status === "completed" && opts.split?.kind !== "shard"
        ? renderOutputs(pipeline, run.planned, stepOutputs, opts.onEvent)
        : {},
    stepOutputs,
    durationMs: (yield* Clock.currentTimeMillis) - started,
    cost: Money.sum([...steps.values()].map((a) => a.cost)),
    cacheStats,
    fromProvider: account,
    samples: ctx.calibration === undefined ? [] : MutableList.toArray(ctx.calibration.samples),
    resetAtMs: s.status === "stopped" ? stopped?.resetAtMs : undefined,
    learnedFreePerDay: account ? learnedFreePerDay : undefined
  } satisfies RunOutcome
})
