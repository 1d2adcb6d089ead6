import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { CycleError, forEachBounded, runDag, topoOrder } from "../src/Scheduler.ts"

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

  it.effect("forEachBounded: every result with its index, concurrency bounded, items pulled lazily", () =>
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
      const seen = new Set<number>()
      yield* forEachBounded(
        items,
        (item) =>
          Effect.gen(function* () {
            inFlight++
            maxInFlight = Math.max(maxInFlight, inFlight)
            if (item % 7 === 0) yield* Effect.yieldNow
            inFlight--
            return item * 2
          }),
        (result, index) =>
          Effect.sync(() => {
            completed++
            seen.add(index)
            assert.strictEqual(result, index * 2)
          }),
        16
      )
      assert.strictEqual(completed, n)
      assert.strictEqual(seen.size, n)
      assert.isAtMost(maxInFlight, 16)
      assert.isBelow(maxAhead, 1000) // a window, not the whole input
    })
  )

  it.effect("forEachBounded: a slow item holds back neither the items after it nor their results", () =>
    Effect.gen(function* () {
      const done: number[] = []
      const fiber = yield* Effect.forkChild(
        forEachBounded(
          [0, 1, 2, 3, 4, 5, 6, 7],
          (item) => Effect.as(Effect.sleep(item === 0 ? 10_000 : 100), item),
          (result) => Effect.sync(() => void done.push(result)),
          3
        )
      )
      yield* TestClock.adjust(1_000)
      // everything but item 0 has finished and reached the sink, at 3 at a time
      assert.deepStrictEqual([...done].sort(), [1, 2, 3, 4, 5, 6, 7])
      yield* TestClock.adjust(10_000)
      yield* Fiber.join(fiber)
      assert.strictEqual(done.at(-1), 0)
    })
  )
})
