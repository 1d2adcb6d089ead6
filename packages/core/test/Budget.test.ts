import { assert, describe, it } from "@effect/vitest"
import { Money } from "@tollgate/pricing"
import { Effect } from "effect"
import fc from "fast-check"
import { makeMemory } from "../src/Budget.ts"

describe("Budget", () => {
  it("property: concurrent reserve/settle/release never settles above max_cost_usd and leaves nothing open", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5000 }), // max cost, micro-dollars
        fc.array(
          fc.record({
            worst: fc.integer({ min: 0, max: 800 }),
            actualPct: fc.integer({ min: 0, max: 100 }),
            fails: fc.boolean(),
            delay: fc.integer({ min: 0, max: 5 })
          }),
          { minLength: 1, maxLength: 60 }
        ),
        fc.integer({ min: 1, max: 16 }),
        async (maxMicros, requests, concurrency) => {
          const micro = (n: number) => Money.mul(Money.usd(String(n)), Money.usd("0.000001"))
          const max = micro(maxMicros)
          const budget = makeMemory({ maxCostUsd: max })
          let peak = Money.zero
          const one = (r: (typeof requests)[number]) =>
            Effect.gen(function* () {
              const worst = micro(r.worst)
              const reservation = yield* budget.reserve(worst, { free: false })
              // interleave with the other fibers (no real time passes)
              for (let i = 0; i < r.delay; i++) yield* Effect.yieldNow
              if (r.fails) yield* budget.release(reservation, { sent: true })
              else yield* budget.settle(reservation, Money.mul(worst, Money.usd(String(r.actualPct / 100))))
              const snap = yield* budget.snapshot
              peak = Money.max(peak, Money.add(snap.spent, snap.reserved))
            }).pipe(Effect.catchTag("BudgetExceeded", () => Effect.void))
          await Effect.runPromise(Effect.forEach(requests, one, { concurrency, discard: true }))
          const snap = await Effect.runPromise(budget.snapshot)
          return (
            Money.lte(snap.spent, max) &&
            Money.lte(peak, max) &&
            snap.open === 0 &&
            Money.isZero(snap.reserved)
          )
        }
      ),
      { numRuns: 150 }
    )
  })

  it.effect("max_requests counts attempts; a request never sent gives its slot back", () =>
    Effect.gen(function* () {
      const budget = makeMemory({ maxRequests: 2, maxFreeRequests: 1 })
      const a = yield* budget.reserve(Money.zero, { free: true })
      const b = yield* Effect.exit(budget.reserve(Money.zero, { free: true }))
      assert.strictEqual(b._tag, "Failure")
      yield* budget.release(a, { sent: false })
      const c = yield* budget.reserve(Money.zero, { free: true })
      yield* budget.release(c, { sent: true })
      yield* budget.reserve(Money.zero, { free: false })
      const d = yield* Effect.exit(budget.reserve(Money.zero, { free: false }))
      assert.strictEqual(d._tag, "Failure")
      assert.strictEqual((yield* budget.snapshot).requests, 2)
    })
  )
})
