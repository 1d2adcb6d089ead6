/**
 * The projection: what a run will send and cost, computed before anything is sent. Pure over
 * its inputs (pipeline, input values, catalog, policy, ledger reading, cache contents, history).
 */
import type * as Catalog from "@tollgate/pricing/Catalog"
import * as Money from "@tollgate/pricing/Money"
import type * as Policy from "@tollgate/pricing/Policy"
import type { AccountFacts } from "../account/AccountFacts.ts"
import { order } from "../dsl/Graph.ts"
import { packMaxTokens } from "../dsl/PackRequest.ts"
import type { Pipeline } from "../dsl/Pipeline.ts"
import type * as Calibration from "./Calibration.ts"
import { type FreeDay, freeDays } from "./Days.ts"
import { type Budget, type Violation, violations } from "./Gates.ts"
import { type OverflowPlan, planOverflow } from "./OverflowProjection.ts"
import { minDurationMs } from "./Pacing.ts"
import { type Known, projectStep, type StepContext, type StepProjection } from "./StepProjection.ts"

export type { Violation } from "./Gates.ts"
export type { Range, StepProjection } from "./StepProjection.ts"

export interface ProjectInput {
  readonly pipeline: Pipeline
  readonly inputs: Readonly<Record<string, unknown>>
  readonly catalog: Catalog.Catalog
  readonly policy: Policy.Policy
  readonly fingerprint: string
  /** Free-model requests already used today (the ledger). */
  readonly freeUsedToday: number
  /** The cache key of a request body, and the keys the cache may hold (no send for those). */
  readonly cacheKey: (body: Readonly<Record<string, unknown>>) => string
  readonly cached: ReadonlySet<string>
  /** What earlier runs measured (real provider replies only): the tokenizer gap, reply lengths. */
  readonly calibration: Calibration.Index
  readonly now: Date
  /** The account: the free tier, the balance and the key's cap, as declared, discovered or by default. */
  readonly account: AccountFacts
  /** `--max-cost`: tightens budget.max_cost_usd. */
  readonly maxCostOverride?: number | undefined
  /** Expected tokens of a text (default: counted with the tokenizer; plan passes its memo). */
  readonly tokens?: ((text: string) => number) | undefined
  /** Fan-out steps' counted requests, remembered (the plan passes its memo's; `StepCounts.ts`). */
  readonly stepCounts?: StepContext["stepCounts"]
  /** When the job must be done (epoch ms): free first, overflow steps pay for the rest. */
  readonly deadlineMs?: number | undefined
}

export interface Projection {
  readonly complete: boolean
  readonly steps: ReadonlyArray<StepProjection>
  readonly requests: { readonly expected: number; readonly max: number; readonly cached: number }
  readonly freeRequests: number
  readonly costExpected: Money.Usd
  /** A likely high: every step's replies at their p90 length. */
  readonly costP90: Money.Usd
  readonly costMax: Money.Usd
  readonly minDurationS: number
  readonly quota: {
    readonly freePerDay: number
    readonly freeUsedToday: number
    /** Counted by the provider for the account's other keys and clients, beyond our ledger. */
    readonly freeUsedElsewhere: number
    readonly freeLeftToday: number
    /** The UTC days the free requests need: one when they fit today. */
    readonly days: ReadonlyArray<FreeDay>
  }
  readonly budget: Budget
  readonly violations: ReadonlyArray<Violation>
  /** With a deadline: where the free requests go, what the overflow costs, and the alternatives. */
  readonly overflow: OverflowPlan | undefined
}

/** `--max-cost` tightens the pipeline's budget, never loosens it. */
const effectiveMaxCost = (pipeline: Pipeline, override: number | undefined): number | undefined =>
  override !== undefined
    ? Math.min(override, pipeline.budget.maxCostUsd ?? Number.POSITIVE_INFINITY)
    : pipeline.budget.maxCostUsd

/**
 * Every step's projection, in dependency order (each sees what the ones before it produce); with
 * a deadline, each overflow step also all on its paid model.
 */
const projectSteps = (
  input: ProjectInput
): { steps: StepProjection[]; paidVariants: Map<string, StepProjection> } => {
  const stepsInOrder = order(input.pipeline)
  const known = new Map<string, Known>()
  const paidVariants = new Map<string, StepProjection>()
  const projected = stepsInOrder.map((step) => {
    const ctx = {
      ...input,
      calibration: { index: input.calibration, pipeline: input.pipeline.name },
      known,
      order: stepsInOrder
    }
    if (input.deadlineMs !== undefined && step.overflow !== undefined)
      paidVariants.set(step.id, projectStep({ ...step, models: [step.overflow] }, ctx).projection)
    const r = projectStep(step, ctx)
    known.set(step.id, r.known)
    return r.projection
  })
  // in the pipeline's own order for reports
  const position = new Map(input.pipeline.steps.map((s, i) => [s.id, i]))
  return { steps: projected.sort((a, b) => position.get(a.id)! - position.get(b.id)!), paidVariants }
}

/** The overflow steps' paid parts in their projections: what each costs, and its largest request. */
const withPaidParts = (
  steps: ReadonlyArray<StepProjection>,
  plan: OverflowPlan | undefined
): StepProjection[] =>
  steps.map((s) => {
    const o = plan?.steps.find((x) => x.id === s.id)
    if (o === undefined || o.placement.paid === 0) return s
    return {
      ...s,
      costExpected: Money.add(s.costExpected, o.paid.expected),
      costP90: Money.add(s.costP90, o.paid.p90),
      costMax: Money.add(s.costMax, o.paid.max),
      maxRequestCost: Money.max(s.maxRequestCost, o.maxPaidRequest)
    }
  })

const sum = (steps: ReadonlyArray<StepProjection>, f: (s: StepProjection) => number) =>
  steps.reduce((n, s) => n + f(s), 0)

/** The budget the gates apply: the pipeline's, `--max-cost` tightening it. */
const budgetOf = (pipeline: Pipeline, maxCostOverride: number | undefined): Budget => ({
  maxCostUsd: effectiveMaxCost(pipeline, maxCostOverride),
  maxRequests: pipeline.budget.maxRequests,
  maxFreeRequests: pipeline.budget.maxFreeRequests,
  gate: pipeline.budget.gate
})

/** Each step's request `max_tokens`: a pack's asks for every item's at once, and that is what must fit the context. */
const requestMaxTokens = (pipeline: Pipeline): Map<string, number> =>
  new Map(
    pipeline.steps.map((s) => [
      s.id,
      s.forEach !== undefined && s.pack > 1 ? packMaxTokens(s, s.pack) : s.maxTokens
    ])
  )

export const project = (input: ProjectInput): Projection => {
  const { pipeline } = input
  const projected = projectSteps(input)
  const freePerDay = input.account.freePerDay.value
  // the provider counts every key and client of the account; the ledger only ours: the larger wins
  const freeUsedToday = Math.max(input.freeUsedToday, input.account.freeUsedByProvider ?? 0)
  const freeLeftToday = Math.max(0, freePerDay - freeUsedToday)
  const overflow = overflowOf(input, projected, { freePerDay, freeLeftToday })
  const steps = withPaidParts(projected.steps, overflow)
  const complete = steps.every((s) => s.countKnown)
  const requests = sum(steps, (s) => s.requests)
  const cached = sum(steps, (s) => s.cached)
  const paidOverflow = overflow?.steps.reduce((n, o) => n + o.placement.paid, 0) ?? 0
  const freeRequests = sum(steps, (s) => (s.free ? s.requests - s.cached : 0)) - paidOverflow
  const costExpected = Money.sum(steps.map((s) => s.costExpected))
  const costP90 = Money.sum(steps.map((s) => s.costP90))
  const costMax = Money.sum(steps.map((s) => s.costMax))
  const quota = {
    freePerDay,
    freeUsedToday,
    freeUsedElsewhere: Math.max(0, freeUsedToday - input.freeUsedToday),
    freeLeftToday,
    days: freeDays({
      freeRequests,
      leftToday: freeLeftToday,
      perDay: freePerDay,
      maxFreeRequests: pipeline.budget.maxFreeRequests,
      now: input.now
    })
  }
  const budget = budgetOf(pipeline, input.maxCostOverride)
  const maxTokensOf = requestMaxTokens(pipeline)
  const sent = requests - cached
  return {
    complete,
    steps,
    requests: { expected: sent, max: sent, cached },
    freeRequests,
    costExpected,
    costP90,
    costMax,
    minDurationS:
      Math.ceil(
        minDurationMs(
          pacedAs(steps, overflow),
          input.policy,
          input.account.balanceUsd.value,
          input.fingerprint
        )
      ) / 1000,
    quota,
    budget,
    overflow,
    violations: violations({
      steps: steps.map((s) => ({ ...s, maxTokens: maxTokensOf.get(s.id)! })),
      complete,
      budget,
      sent,
      freeRequests,
      costExpected,
      costMax,
      quota,
      keyLimit: input.account.keyLimit,
      budgets: input.account.budgets,
      balanceUsd: input.account.balanceUsd.value,
      now: input.now,
      overflow
    })
  }
}

/** The steps as the rate limits see them: an overflow step's free part on its free model, its paid part on the paid one. */
const pacedAs = (steps: ReadonlyArray<StepProjection>, plan: OverflowPlan | undefined): StepProjection[] =>
  steps.flatMap((s) => {
    const o = plan?.steps.find((x) => x.id === s.id)
    if (o === undefined || o.placement.paid === 0) return [s]
    return [
      { ...s, requests: s.cached + o.placement.free },
      { ...s, model: o.paidModel, free: false, requests: o.placement.paid, cached: 0 }
    ]
  })

/** With a deadline: the overflow plan over the steps as projected free. */
const overflowOf = (
  input: ProjectInput,
  projected: {
    readonly steps: ReadonlyArray<StepProjection>
    readonly paidVariants: ReadonlyMap<string, StepProjection>
  },
  quota: { readonly freePerDay: number; readonly freeLeftToday: number }
): OverflowPlan | undefined => {
  if (input.deadlineMs === undefined) return undefined
  const { steps } = projected
  const free = sum(steps, (s) => (s.free ? s.requests - s.cached : 0))
  return planOverflow({
    now: input.now.getTime(),
    deadlineMs: input.deadlineMs,
    steps,
    defined: new Map(input.pipeline.steps.map((s) => [s.id, s])),
    paidVariants: projected.paidVariants,
    policy: input.policy,
    leftToday: quota.freeLeftToday,
    perDay: quota.freePerDay,
    maxFreeRequests: input.pipeline.budget.maxFreeRequests,
    base: {
      expected: Money.sum(steps.map((s) => s.costExpected)),
      p90: Money.sum(steps.map((s) => s.costP90)),
      max: Money.sum(steps.map((s) => s.costMax))
    },
    freeDays: freeDays({
      freeRequests: free,
      leftToday: quota.freeLeftToday,
      perDay: quota.freePerDay,
      maxFreeRequests: input.pipeline.budget.maxFreeRequests,
      now: input.now
    })
  })
}
