/** The in-flight spending budget as learned from refusals: pacing, never a deadlock, growing back. */
import { assert, describe, it } from "@effect/vitest"
import { Money } from "@tollgate/pricing"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import * as InFlight from "../src/InFlight.ts"

const w = Money.usd("0.001")

describe("InFlight", () => {
  it.effect("admits freely until a refusal; then holds the sum under what else was in flight", () =>
    Effect.gen(function* () {
      const f = InFlight.make()
      const tickets = yield* Effect.forEach([1, 2, 3, 4], () => f.admit(w))
      for (const t of tickets) f.markSent(t)
      // a fifth waits for its pacing slot, admitted but not sent: the provider never saw it
      const unsent = yield* f.admit(w)
      // the fourth is refused with three others sent: the budget is three
      yield* f.refused(tickets[3]!)
      yield* f.release(tickets[3]!)
      yield* f.release(unsent)
      const waiting = yield* Effect.forkChild(f.admit(w))
      yield* Effect.yieldNow
      assert.isUndefined(waiting.pollUnsafe())
      yield* f.release(tickets[0]!)
      const admitted = yield* Fiber.join(waiting)
      assert.isTrue(Money.eq(admitted.amount, w))
      const s = yield* f.snapshot
      assert.isTrue(Money.eq(s.budget!, Money.usd("0.003")))
      assert.isTrue(Money.eq(s.inFlight, Money.usd("0.003")))
    })
  )

  it.effect(
    "a request always goes when nothing else is in flight, and the budget grows back when quiet",
    () =>
      Effect.gen(function* () {
        const f = InFlight.make()
        const a = yield* f.admit(w)
        yield* f.refused(a) // refused alone: a budget of nothing
        yield* f.release(a)
        const alone = yield* f.admit(w)
        const second = yield* Effect.forkChild(f.admit(w))
        yield* Effect.yieldNow
        assert.isUndefined(second.pollUnsafe())
        // each quiet period grows the budget by one request: after two, the second goes beside the first
        yield* TestClock.adjust(InFlight.QUIET_MS)
        yield* Effect.yieldNow
        assert.isUndefined(second.pollUnsafe())
        yield* TestClock.adjust(InFlight.QUIET_MS)
        yield* Fiber.join(second)
        yield* f.release(alone)
      })
  )
})
