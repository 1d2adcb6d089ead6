/**
 * `run`: plan (a pipeline, or a saved plan that must not be stale), gate, open the run's records
 * (resuming an unfinished run of the same identity), execute, summarize. Sends nothing unless
 * the gates pass.
 */
import { join, resolve } from "node:path"
import * as Money from "@tollgate/pricing/Money"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import { Account } from "../account/Account.ts"
import { InputInvalid } from "../Errors.ts"
import { addSamples, withSettled } from "../plan/Calibration.ts"
import { type Planned, type PlanOptions, planFile } from "../plan/Plan.ts"
import { changesSince, identityOf, legacyInputsHash } from "../plan/PlanHashes.ts"
import { type PlanJson, planJson } from "../plan/PlanJson.ts"
import { planTarget } from "../plan/SavedPlan.ts"
import { isOpenRouter, keyFor, keyMayGo, keyWithheld } from "../providers/KeyRoute.ts"
import { StateStore } from "../store/StateStore.ts"
import type { OnEvent } from "./Events.ts"
import { budgetOf, execute, type RunOutcome } from "./Execute.ts"
import { joinShards } from "./Merge.ts"
import { runKey } from "./ProviderBudget.ts"
import { Records } from "./Records.ts"
import { holdRunLock, recordsUnwritable } from "./RunLock.ts"
import type { SettlementLine } from "./Settlement.ts"
import { SETTLE_TIMEOUT_MS, settleWithProvider } from "./SettleWithProvider.ts"
import { label, type Shard, type Split, stepRoles } from "./Shards.ts"
import { exitCodeOf, type RunSummary, summaryOf } from "./Summary.ts"
import { resumeAt, waitUntil } from "./UntilDone.ts"

/** Plan's options (a run plans first), plus how to execute. */
export interface RunOptions extends Omit<PlanOptions, "runsDir" | "now"> {
  readonly concurrency?: number | undefined
  /** Where run records go (default `.tollgate/runs`); also where plan finds earlier runs. */
  readonly outDir?: string | undefined
  /** Sends nothing: every request must be in the cache (a miss is `InputInvalid`). */
  readonly offline?: boolean | undefined
  readonly onEvent?: OnEvent | undefined
  /** Completes when the user asks to stop (SIGINT): no new requests, those in flight settle. */
  readonly interrupted?: Effect.Effect<void> | undefined
  /** Run one shard of a split run (`--shard i/n`). */
  readonly shard?: Shard | undefined
  /** Merge the shard runs found under `outDir` instead (`runner merge`). */
  readonly merge?: boolean | undefined
  /** When the daily free quota stops the run, wait for its reset and go on (`--until-done`). */
  readonly untilDone?: boolean | undefined
  /** `--enforce-budget`: overrides `budget.enforce`. */
  readonly enforce?: "runner" | "provider" | undefined
  /**
   * Settle paid answers against OpenRouter's bill (`/generation`) at the run's end: `auto` (the
   * default) at openrouter.ai only (another server may not have the endpoint), `on` at any
   * OpenRouter-kind endpoint, `off` never (`runner reconcile` can later).
   */
  readonly settle?: "auto" | "on" | "off" | undefined
  /** How long settling may take (default 20 s). */
  readonly settleTimeoutMs?: number | undefined
}

export type RunResult =
  | { readonly kind: "gated"; readonly plan: PlanJson }
  | {
      readonly kind: "ran"
      readonly summary: RunSummary
      readonly exitCode: number
      readonly recordsDir: string
      /** Stopped by the daily free quota: when the run may go on (epoch ms). */
      readonly resumeAtMs?: number | undefined
      /** Free requests a day the provider's replies named, when higher than the plan assumed. */
      readonly higherTier?: number | undefined
    }

/** Refusals of a plan that passed its gates: OpenRouter without a key, an offline miss. */
const refusal = (planned: Planned, plan: PlanJson, opts: RunOptions) => {
  const keyEnv = planned.validated.pipeline.apiKeyEnv
  const keySet = opts.keys.get(keyEnv) !== undefined
  if (!opts.offline && keySet && !keyMayGo(planned.baseUrl, planned.baseUrlGiven))
    return `${keyWithheld(planned.baseUrl, `the key in ${keyEnv}`)}: pass --base-url ${planned.baseUrl} if you trust it; nothing was sent`
  if (!opts.offline && isOpenRouter(planned.baseUrl) && !keySet)
    return `${keyEnv} is not set: OpenRouter needs an API key (export ${keyEnv}=…), or run with --echo to try the pipeline locally; nothing was sent`
  if (opts.offline && plan.requests.max > 0)
    return `--offline: ${plan.requests.max} request${plan.requests.max === 1 ? " is" : "s are"} not in the cache; nothing was sent`
  return undefined
}

/**
 * The most an earlier process may have had in flight when it stopped: `concurrency` requests of
 * the dearest step, each with every retry it may take.
 */
const inFlightWorst = (planned: Planned, concurrency: number): Money.Usd => {
  const attempts = new Map(planned.validated.pipeline.steps.map((s) => [s.id, s.maxAttempts]))
  const dearest = planned.projection.steps.reduce(
    (worst, p) => Money.max(worst, Money.times(p.maxRequestCost, Math.max(1, attempts.get(p.id) ?? 1))),
    Money.zero
  )
  return Money.times(dearest, Math.max(1, concurrency))
}

/** A run's identity from the whole run's: its own, a shard's, or the merge's. */
const identityFrom = (base: string, split: Split | undefined): string =>
  split?.kind === "shard"
    ? `${base}:shard:${label(split.shard)}`
    : split?.kind === "merge"
      ? `${base}:merge`
      : base

/** The records and the split of this run: the whole run, one shard, or the merge of the shards. */
const openRecords = (planned: Planned, opts: RunOptions, outDir: string, display: string, now: number) =>
  Effect.gen(function* () {
    const pipeline = planned.validated.pipeline
    const base = identityOf(planned.hashes, planned.baseUrl)
    const roles = opts.shard !== undefined || opts.merge ? stepRoles(pipeline) : new Map()
    const legacy = legacyInputsHash(planned.validated)
    const legacyBase =
      legacy === undefined
        ? undefined
        : () => identityOf({ ...planned.hashes, inputs: legacy() }, planned.baseUrl)
    const joined = opts.merge ? yield* joinShards(outDir, display, base, roles, legacyBase) : undefined
    if (typeof joined === "string") return yield* new InputInvalid({ message: `runner merge: ${joined}` })
    const split: Split | undefined =
      opts.shard !== undefined
        ? { kind: "shard", shard: opts.shard, roles }
        : joined !== undefined
          ? { kind: "merge", count: joined.count, roles }
          : undefined
    const identity = identityFrom(base, split)
    yield* holdRunLock(outDir, identity, display)
    const clock = yield* Clock.Clock
    const records = yield* Effect.acquireRelease(
      Effect.try({
        try: () =>
          Records.open(outDir, identity, pipeline.name, new Date(now), {
            inFlightWorst: inFlightWorst(planned, opts.concurrency ?? pipeline.concurrency),
            now: () => clock.currentTimeMillisUnsafe(),
            ...(legacyBase !== undefined ? { legacyIdentity: () => identityFrom(legacyBase(), split) } : {}),
            ...(opts.shard !== undefined ? { shard: { base, ...opts.shard } } : {}),
            ...(joined !== undefined ? { seed: joined.seed } : {})
          }),
        catch: (e) => recordsUnwritable(display, e)
      }),
      (r) => Effect.sync(() => r.close())
    )
    return { records, split }
  })

/** Opens the records, executes, writes outputs and summary. */
const runPlanned = Effect.fn("Run.runPlanned")(function* (
  planned: Planned,
  plan: PlanJson,
  opts: RunOptions
) {
  const onEvent: OnEvent = opts.onEvent ?? (() => {})
  const display = opts.outDir ?? join(".tollgate", "runs")
  const outDir = resolve(opts.cwd, display)
  // one reading of the clock for the run's start: its records, its budget's day, a minted key's expiry
  const startedAt = yield* Clock.currentTimeMillis
  const { records, split } = yield* openRecords(planned, opts, outDir, display, startedAt)
  records.writePlan(plan)
  for (const message of records.warnings) onEvent({ type: "warning", message })
  const emit: OnEvent = (e) => {
    records.event(e)
    onEvent(e)
  }
  emit({
    type: "version",
    format_version: 1,
    run: records.id,
    resumed: records.resumed,
    reusable: records.previous.size
  })
  emit({
    type: "run-start",
    pipeline: plan.pipeline.name,
    requests: plan.requests.max,
    max_cost_usd: plan.budget.max_cost_usd,
    min_duration_s: plan.min_duration_s
  })
  // budget.enforce: provider: a key capped at what is left of the budget, deleted when this scope closes
  // a key minted for a shard is capped at the shard's share even when the shards share a pool:
  // the provider-side backstop never adds up to more than the budget
  const limits = budgetOf(planned, records, split, new Date(startedAt), false)
  const apiKey = yield* runKey(planned, {
    keys: opts.keys,
    enforce: opts.enforce,
    remaining:
      limits.maxCostUsd !== undefined ? Money.sub(limits.maxCostUsd, records.spentBefore) : undefined,
    name: `${plan.pipeline.name} ${records.id}`,
    nowMs: startedAt,
    onEvent: emit
  })
  const outcome = yield* execute({
    planned,
    records,
    apiKey,
    keys: opts.keys,
    noCache: opts.noCache === true,
    concurrency: opts.concurrency,
    onEvent: emit,
    interrupted: opts.interrupted,
    split,
    startedAt
  })
  // the step records are read back from here on: every line of the run is written first
  records.writeGathered()
  const settled = yield* settleAfter(planned, records.dir, apiKey, outcome, opts)
  yield* learnFrom(planned, outcome, settled?.lines ?? [], outDir)
  const summary = summaryOf(plan, outcome, records, new Date(yield* Clock.currentTimeMillis), settled)
  records.writeOutputs({ outputs: outcome.outputs, steps: outcome.stepOutputs })
  records.writeSummary(summary)
  emit({ type: "run-end", status: outcome.status, cost_usd: summary.actual.cost_usd })
  return {
    kind: "ran",
    summary,
    exitCode: exitCodeOf(outcome),
    recordsDir: records.dir,
    resumeAtMs: resumeAt(outcome),
    higherTier:
      outcome.learnedFreePerDay !== undefined && outcome.learnedFreePerDay > plan.quota.free_per_day
        ? outcome.learnedFreePerDay
        : undefined
  } as const
})

/** What a run teaches later plans: the free tier its replies named, and (real provider replies only) calibration samples, with the bill's prompt counts where settled. */
const learnFrom = Effect.fnUntraced(function* (
  planned: Planned,
  outcome: RunOutcome,
  settled: ReadonlyArray<SettlementLine>,
  outDir: string
) {
  if (outcome.learnedFreePerDay !== undefined)
    yield* (yield* Account).learned({
      baseUrl: planned.baseUrl,
      fingerprint: planned.fingerprint,
      freePerDay: outcome.learnedFreePerDay,
      nowMs: yield* Clock.currentTimeMillis
    })
  if (outcome.fromProvider && outcome.samples.length > 0) {
    const samples = withSettled(outcome.samples, settled)
    yield* (yield* StateStore).calibration.update(outDir, (index) => addSamples(index, samples))
  }
})

/**
 * Settles the run's paid answers against OpenRouter's bill, after its requests (never during):
 * only an OpenRouter-kind provider has `/generation` (by default, only OpenRouter's own host is
 * asked), and a run the user interrupted is left for `runner reconcile`.
 */
const settleAfter = (
  planned: Planned,
  dir: string,
  minted: Redacted.Redacted<string> | undefined,
  outcome: RunOutcome,
  opts: RunOptions
) => {
  const pipeline = planned.validated.pipeline
  const apiKey = minted ?? keyFor(opts.keys, pipeline.apiKeyEnv, planned.baseUrl, planned.baseUrlGiven)
  const settle = opts.settle ?? "auto"
  if (
    settle === "off" ||
    (settle === "auto" && !isOpenRouter(planned.baseUrl)) ||
    opts.offline === true ||
    !outcome.fromProvider ||
    pipeline.providerKind !== "openrouter" ||
    outcome.status === "interrupted" ||
    (apiKey === undefined && isOpenRouter(planned.baseUrl))
  )
    return Effect.succeed(undefined)
  return settleWithProvider(
    dir,
    { baseUrl: planned.baseUrl, apiKey },
    { timeoutMs: opts.settleTimeoutMs ?? SETTLE_TIMEOUT_MS }
  ).pipe(
    Effect.tap((s) =>
      Effect.sync(() => {
        for (const why of s.failures)
          opts.onEvent?.({ type: "warning", message: `could not settle against the provider's bill: ${why}` })
      })
    )
  )
}

/** Plans `file` (a pipeline, or a saved plan.json), gates, runs. */
export const runFile = Effect.fnUntraced(function* (file: string, opts: RunOptions) {
  const target = yield* planTarget(opts.cwd, file, opts.inputs)
  const planWith = (deadline: string | undefined) =>
    Effect.map(
      planFile(target.file, {
        ...opts,
        deadline,
        inputs: target.inputs,
        runsDir: opts.outDir,
        refreshCounter: true
      }),
      (planned) => ({ planned, plan: planJson(planned) })
    )
  const { planned, plan } = yield* planWith(opts.deadline)
  // a deadline given as a duration is fixed when the run starts: each day's plan keeps it
  const deadlineMs = planned.projection.overflow?.deadlineMs
  const planOnce = planWith(deadlineMs === undefined ? opts.deadline : new Date(deadlineMs).toISOString())
  const changed = target.saved ? changesSince(target.saved.hashes, planned.hashes) : []
  if (changed.length > 0)
    return yield* new InputInvalid({
      message: `the saved plan ${file} is stale: ${changed.join(", ")} changed since it was made; run \`runner plan --out\` again`
    })
  // with --until-done, a job bigger than today's free quota is planned over days, not refused
  const placed = plan.quota.days.reduce((n, d) => n + d.free_requests, 0)
  const days =
    opts.untilDone === true &&
    placed >= plan.free_requests &&
    plan.violations.every((v) => v.kind === "free_quota" || v.kind === "max_free_requests")
  if (!plan.ok && !days) return { kind: "gated", plan } satisfies RunResult as RunResult
  const refused = refusal(planned, plan, opts)
  if (refused !== undefined) return yield* new InputInvalid({ message: refused })
  const shared = planned.validated.pipeline.budget.shared
  const store = yield* StateStore
  for (const message of [...planned.warnings, ...store.warnings]) opts.onEvent?.({ type: "warning", message })
  if (shared !== undefined && !store.shared)
    opts.onEvent?.({
      type: "warning",
      message: `budget.shared ("${shared}") is ignored without --store (Redis): this run keeps its own budget`
    })
  return yield* runDays({ planned, plan }, planOnce, opts)
})

/**
 * Runs, and with --until-done goes on after each daily quota reset until the run ends otherwise.
 * One stop request (SIGINT) is listened for across the days and the waits between them.
 */
const runDays = <E, R>(first: Plans, replan: Effect.Effect<Plans, E, R>, given: RunOptions) =>
  Effect.scoped(
    Effect.gen(function* () {
      const stop = yield* Deferred.make<void>()
      if (given.interrupted !== undefined)
        yield* Effect.forkScoped(Effect.andThen(given.interrupted, Deferred.succeed(stop, undefined)))
      yield* Effect.yieldNow
      return yield* runEachDay(first, replan, { ...given, interrupted: Deferred.await(stop) })
    })
  )

interface Plans {
  readonly planned: Planned
  readonly plan: PlanJson
}

const runEachDay = Effect.fnUntraced(function* <E, R>(
  first: Plans,
  replan: Effect.Effect<Plans, E, R>,
  opts: RunOptions
) {
  let { planned, plan } = first
  for (;;) {
    const result = (yield* Effect.scoped(runPlanned(planned, plan, opts))) as RunResult
    if (result.kind !== "ran" || result.resumeAtMs === undefined) return result
    // the provider's replies named a higher free tier than the plan assumed: plan again and go on now
    if (opts.untilDone === true && result.higherTier !== undefined && result.summary.stop === "free-quota") {
      const next = yield* replan
      if (next.plan.quota.free_per_day > plan.quota.free_per_day) {
        opts.onEvent?.({
          type: "warning",
          message: `the provider's replies name ${next.plan.quota.free_per_day} free requests a day, not ${plan.quota.free_per_day}: going on now`
        })
        ;({ planned, plan } = next)
        continue
      }
    }
    if (opts.untilDone !== true)
      return withReason(
        result,
        `${result.summary.reason}; run again after the reset to go on where it stopped, or with --until-done to wait for it`
      )
    opts.onEvent?.({
      type: "quota-wait",
      until: result.resumeAtMs,
      at: yield* Clock.currentTimeMillis,
      ...(result.summary.stop === "provider-budget" ? { what: "provider-budget" as const } : {})
    })
    if ((yield* waitUntil(result.resumeAtMs, opts.interrupted)) === "interrupted")
      return {
        ...withReason(result, "interrupted while waiting for the reset; run again to go on where it stopped"),
        exitCode: 130
      }
      // a new day: plan again, so today's counts and the tier the replies named (a daily cap of 15
      // too) pace the next day, and no attempt is spent finding the cap again
    ;({ planned, plan } = yield* replan)
  }
})

const withReason = (result: Extract<RunResult, { kind: "ran" }>, reason: string): RunResult => ({
  ...result,
  summary: { ...result.summary, reason }
})
