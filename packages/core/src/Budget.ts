/**
 * The run's money and request budget. Before a request is sent its worst-case cost is reserved;
 * afterwards the reservation is settled to the actual cost, or released if nothing was billed.
 * Reserve is one atomic check-and-add, so concurrent requests can never together pass
 * `maxCostUsd` or `maxRequests`.
 */
import * as Money from "@tollgate/pricing/Money"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { StoreLost } from "./StoreLost.ts"

export interface BudgetLimits {
  readonly maxCostUsd?: Money.Usd | undefined
  /** Attempts, retries included. */
  readonly maxRequests?: number | undefined
  /** Free-model attempts this run may use. */
  readonly maxFreeRequests?: number | undefined
}

export class BudgetExceeded extends Schema.TaggedError<BudgetExceeded>()("BudgetExceeded", {
  limit: Schema.Literals(["max_cost_usd", "max_requests", "max_free_requests"]),
  message: Schema.String
}) {}

export interface Reservation {
  readonly id: number
  readonly amount: Money.Usd
  readonly free: boolean
}

export interface BudgetSnapshot {
  /** Settled, actual spend. */
  readonly spent: Money.Usd
  /** Held by requests in flight. */
  readonly reserved: Money.Usd
  readonly requests: number
  readonly freeRequests: number
  readonly open: number
}

export interface BudgetShape {
  /** Reserves `amount` (a worst case) and one request; fails without side effects if either limit would pass. */
  readonly reserve: (
    amount: Money.Usd,
    opts: { readonly free: boolean }
  ) => Effect.Effect<Reservation, BudgetExceeded | StoreLost>
  /** The request was billed `actual`: the reservation becomes spend. */
  readonly settle: (r: Reservation, actual: Money.Usd) => Effect.Effect<void>
  /**
   * Nothing was billed. `sent`: the attempt reached the provider, so it still counts against
   * `max_requests` (attempts); otherwise the request slot is returned too.
   */
  readonly release: (r: Reservation, opts: { readonly sent: boolean }) => Effect.Effect<void>
  readonly snapshot: Effect.Effect<BudgetSnapshot>
}

/** In-process state; the operations are synchronous, hence atomic with respect to other fibers. */
export const makeMemory = (limits: BudgetLimits, spentBefore: Money.Usd = Money.zero): BudgetShape => {
  let spent = spentBefore
  let reserved = Money.zero
  let requests = 0
  let freeRequests = 0
  let nextId = 1
  const open = new Map<number, Reservation>()
  return {
    reserve: (amount, { free }) =>
      Effect.suspend(() => {
        if (limits.maxRequests !== undefined && requests + 1 > limits.maxRequests)
          return Effect.fail(
            new BudgetExceeded({
              limit: "max_requests",
              message: `budget.max_requests (${limits.maxRequests}) reached`
            })
          )
        if (free && limits.maxFreeRequests !== undefined && freeRequests + 1 > limits.maxFreeRequests)
          return Effect.fail(
            new BudgetExceeded({
              limit: "max_free_requests",
              message: `budget.max_free_requests (${limits.maxFreeRequests}) reached`
            })
          )
        if (limits.maxCostUsd !== undefined) {
          const after = Money.add(Money.add(spent, reserved), amount)
          if (Money.gt(after, limits.maxCostUsd))
            return Effect.fail(
              new BudgetExceeded({
                limit: "max_cost_usd",
                message: `the next request could cost up to ${Money.format(amount)}; with ${Money.format(spent)} spent and ${Money.format(reserved)} in flight that could pass budget.max_cost_usd (${Money.format(limits.maxCostUsd)})`
              })
            )
        }
        const r: Reservation = { id: nextId++, amount, free }
        reserved = Money.add(reserved, amount)
        requests += 1
        if (free) freeRequests += 1
        open.set(r.id, r)
        return Effect.succeed(r)
      }),
    settle: (r, actual) =>
      Effect.sync(() => {
        if (!open.delete(r.id)) return
        reserved = Money.sub(reserved, r.amount)
        spent = Money.add(spent, actual)
      }),
    release: (r, { sent }) =>
      Effect.sync(() => {
        if (!open.delete(r.id)) return
        reserved = Money.sub(reserved, r.amount)
        if (!sent) {
          requests -= 1
          if (r.free) freeRequests -= 1
        }
      }),
    snapshot: Effect.sync(() => ({ spent, reserved, requests, freeRequests, open: open.size }))
  }
}

/** The run's budget service. */
export class Budget extends Context.Service<Budget, BudgetShape>()("@tollgate/core/Budget") {
  /** `spentBefore`: what earlier attempts at the same run already spent (a resume), counted against the cap. */
  static readonly layer = (limits: BudgetLimits, spentBefore: Money.Usd = Money.zero) =>
    Layer.sync(Budget, () => makeMemory(limits, spentBefore))
}
