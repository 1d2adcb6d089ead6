import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Semaphore } from "effect"
import { TestClock } from "effect/testing"
import { CycleError, forEachOrdered, runDag, topoOrder } from "../src/Scheduler.ts"

describe("Scheduler", () => {
  it("topoOrder orders dependencies first and names a cycle", () => {
    assert.deepStrictEqual(
      topoOrder([
        { id: "c", needs: ["b"] },
        { id: "a", needs: [] },
        { id: "b", needs: ["a"] }
      ]),
      ["a", "b", "c"]
    )
    assert.throws(
      () =>
        topoOrder([
          { id: "a", needs: ["c"] },
          { id: "b", needs: ["a"] },
          { id: "c", needs: ["b"] }
        ]),
      CycleError,
      "cycle: a -> c -> b -> a"
    )
  })

  it.effect("runDag starts a step only after its needs, runs independent steps together", () =>
    Effect.gen(function* () {
      const log: string[] = []
      const step = (id: string, ms: number) =>
        Effect.gen(function* () {
          log.push(`start ${id}`)
          yield* Effect.sleep(ms)
          log.push(`end ${id}`)
          return id.toUpperCase()
        })
      const fiber = yield* Effect.forkChild(
        runDag([
          { id: "report", needs: ["a", "b"], run: step("report", 1) },
          { id: "a", needs: [], run: step("a", 10) },
          { id: "b", needs: [], run: step("b", 5) }
        ])
      )
      yield* TestClock.adjust(100)
      const exit = yield* Effect.exit(Fiber.join(fiber))
      assert.isTrue(Exit.isSuccess(exit))
      assert.deepStrictEqual(log.slice(0, 2).sort(), ["start a", "start b"])
      assert.isBelow(log.indexOf("end a"), log.indexOf("start report"))
      assert.isBelow(log.indexOf("end b"), log.indexOf("start report"))
    })
  )

  it.effect("forEachOrdered: results in item order, concurrency bounded, items pulled lazily", () =>
    Effect.gen(function* () {
      const n = 100_000
      let pulled = 0
      let completed = 0
      let inFlight = 0
      let maxInFlight = 0
      let maxAhead = 0
      const items = (function* () {
        for (let k = 0; k < n; k++) {
          pulled++
          maxAhead = Math.max(maxAhead, pulled - completed)
          yield k
        }
      })()
      const gate = yield* Semaphore.make(8)
      const seen: number[] = []
      yield* forEachOrdered(
        items,
        (item) =>
          gate.withPermits(1)(
            Effect.gen(function* () {
              inFlight++
              maxInFlight = Math.max(maxInFlight, inFlight)
              // later items finish sooner: order must still hold
              if (item % 7 === 0) yield* Effect.yieldNow
              inFlight--
              return item * 2
            })
          ),
        (result, index) =>
          Effect.sync(() => {
            completed++
            if (seen.length < 1000) seen.push(result)
            assert.strictEqual(result, index * 2)
          }),
        16
      )
      assert.strictEqual(completed, n)
      assert.deepStrictEqual(seen.slice(0, 5), [0, 2, 4, 6, 8])
      assert.isAtMost(maxInFlight, 8)
      assert.isBelow(maxAhead, 1000) // a window, not the whole input
    })
  )
})
