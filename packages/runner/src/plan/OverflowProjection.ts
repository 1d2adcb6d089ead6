/**
 * A plan with a deadline: the free requests placed on the days before it (the account's quota
 * and the free rate limit, steps without overflow first), each overflow step's rest priced on its
 * paid model, and the alternatives side by side (free only, with overflow, all paid now). Pure.
 */
import * as Money from "@tollgate/pricing/Money"
import * as Policy from "@tollgate/pricing/Policy"
import type { Step } from "../dsl/Pipeline.ts"
import { type DayCapacity, freeCapacity, less, type Placement, place } from "./OverflowPlacement.ts"
import type { StepProjection } from "./StepProjection.ts"

export interface Costs {
  readonly expected: Money.Usd
  readonly p90: Money.Usd
  readonly max: Money.Usd
}

export interface OverflowStep {
  readonly id: string
  readonly freeModel: string
  readonly paidModel: string
  /** Requests to send (cached ones apart). */
  readonly requests: number
  readonly placement: Placement
  /** What the paid part costs. */
  readonly paid: Costs
  /** What the step costs all on the paid model. */
  readonly allPaid: Costs
  /** A request on the paid model, expected: what each free answer saves. */
  readonly perPaidRequest: Money.Usd
  /** The largest paid request (what the budget reserves for one). */
  readonly maxPaidRequest: Money.Usd
}

export interface OverflowPlan {
  readonly deadlineMs: number
  readonly steps: ReadonlyArray<OverflowStep>
  /** Free only: the UTC days all free requests need, the last of them, and whether they all fit before the deadline. */
  readonly freeOnly: {
    readonly days: number
    readonly lastDay: string | undefined
    readonly meetsDeadline: boolean
  }
  /** Free requests of steps without overflow that no day before the deadline can take. */
  readonly late: number
  /** The whole run with the overflow the deadline needs, and with every overflow step paid now. */
  readonly withOverflow: Costs
  readonly allPaid: Costs
}

export interface OverflowInput {
  readonly now: number
  readonly deadlineMs: number
  readonly steps: ReadonlyArray<StepProjection>
  /** Each step's definition, for its overflow model. */
  readonly defined: ReadonlyMap<string, Step>
  /** Overflow steps projected all on their paid model. */
  readonly paidVariants: ReadonlyMap<string, StepProjection>
  readonly policy: Policy.Policy
  readonly leftToday: number
  readonly perDay: number
  readonly maxFreeRequests: number | undefined
  /** The run's costs as planned free (overflow steps at $0). */
  readonly base: Costs
  /** Days the free requests need with no deadline. */
  readonly freeDays: ReadonlyArray<{ readonly date: string }>
}

const sendable = (s: StepProjection) => Math.max(0, s.requests - s.cached)

const costsOf = (s: StepProjection): Costs => ({ expected: s.costExpected, p90: s.costP90, max: s.costMax })

const plus = (a: Costs, b: Costs): Costs => ({
  expected: Money.add(a.expected, b.expected),
  p90: Money.add(a.p90, b.p90),
  max: Money.add(a.max, b.max)
})

/** `paid` of a step's requests on its paid model: the share expected, the largest requests at most. */
const paidPart = (variant: StepProjection, paid: number, attempts: number): Costs => {
  const n = sendable(variant)
  if (paid === 0 || n === 0) return { expected: Money.zero, p90: Money.zero, max: Money.zero }
  return {
    expected: Money.times(Money.share(variant.costExpected, n), paid),
    p90: Money.times(Money.share(variant.costP90, n), paid),
    // each paid request at its largest, every attempt of it billed: a bound whichever items they are
    max: Money.min(variant.costMax, Money.times(variant.maxRequestCost, paid * attempts))
  }
}

const capacityOf = (o: OverflowInput, modelId: string): DayCapacity[] =>
  freeCapacity({
    now: o.now,
    deadline: o.deadlineMs,
    leftToday: o.leftToday,
    perDay: o.perDay,
    maxFreeRequests: o.maxFreeRequests,
    rpm: Policy.freeRpm(o.policy, modelId),
    windowMs: o.policy.window.windowMs
  })

export const planOverflow = (o: OverflowInput): OverflowPlan => {
  const overflowing = o.steps.filter(
    (s) => s.free && !s.skipped && o.defined.get(s.id)?.overflow !== undefined
  )
  // the first free step's model: its free rate limit paces the account's free requests
  let days = capacityOf(o, modelOf(o.steps.find((s) => s.free)))
  // the free steps that cannot overflow take their days first
  const fixed = place(
    o.steps
      .filter((s) => s.free && !s.skipped && !overflowing.includes(s))
      .reduce((n, s) => n + sendable(s), 0),
    days
  )
  days = less(days, fixed)
  const steps = overflowing.map((s): OverflowStep => {
    const placement = place(sendable(s), days)
    days = less(days, placement)
    const variant = o.paidVariants.get(s.id)!
    const n = sendable(variant)
    return {
      id: s.id,
      freeModel: modelOf(s),
      paidModel: o.defined.get(s.id)!.overflow!,
      requests: sendable(s),
      placement,
      paid: paidPart(variant, placement.paid, o.defined.get(s.id)!.maxAttempts),
      allPaid: costsOf(variant),
      perPaidRequest: n === 0 ? Money.zero : Money.share(variant.costExpected, n),
      maxPaidRequest: variant.maxRequestCost
    }
  })
  const lastDay = o.freeDays.at(-1)?.date
  return {
    deadlineMs: o.deadlineMs,
    steps,
    freeOnly: {
      days: o.freeDays.length,
      lastDay,
      meetsDeadline: fixed.paid === 0 && steps.every((s) => s.placement.paid === 0)
    },
    late: fixed.paid,
    withOverflow: steps.reduce((c, s) => plus(c, s.paid), o.base),
    allPaid: steps.reduce((c, s) => plus(c, s.allPaid), o.base)
  }
}

/** A step's (first) model. */
const modelOf = (s: StepProjection | undefined): string =>
  s === undefined ? "" : typeof s.model === "string" ? s.model : (s.model[0] ?? "")
