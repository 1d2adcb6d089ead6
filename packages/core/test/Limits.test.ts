import { assert, describe, it } from "@effect/vitest"
import { Policy } from "@tollgate/pricing"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { expect, describe as vdescribe, it as vit } from "vitest"
import { type Bucket, make, type Target } from "../src/Limits.ts"
import { memoryRateStore } from "../src/RateStore.ts"
import * as Window from "../src/Window.ts"
import { maxInWindow } from "./support.ts"

const N = 5
const W = 1_000
const M = 50
const policy = Policy.make({ free: { rpm: N }, window: { windowMs: W, marginMs: M } })
const target: Target = { fingerprint: "fp", modelId: "m:free", free: true }

/** A small seeded generator, so a failing arrival pattern can be replayed. */
const lcg = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
  return seed / 2 ** 31
}

/** Requests arriving at `arrivals` (ms); resolves with when each got its slot. */
const slotsFor = (arrivals: ReadonlyArray<number>) =>
  Effect.gen(function* () {
    const limits = make(memoryRateStore(), policy, undefined)
    const got: number[] = []
    const fibers = yield* Effect.forEach(arrivals, (at) =>
      Effect.forkChild(
        Effect.gen(function* () {
          yield* Effect.sleep(at)
          yield* limits.acquire(target)
          got.push(yield* Effect.clockWith((c) => c.currentTimeMillis))
        })
      )
    )
    const end = Math.max(...arrivals) + (arrivals.length / N + 2) * (W + M)
    for (let t = 0; t < end; t += 10) yield* TestClock.adjust(10)
    yield* Fiber.joinAll(fibers)
    return got
  })

describe("the sliding-window limiter", () => {
  it.effect(
    "no window of the provider's length plus the margin ever holds more than N, whatever the arrivals",
    () =>
      Effect.gen(function* () {
        for (const seed of [1, 7, 42, 1234]) {
          const rand = lcg(seed)
          // bursts, trickles and gaps: 40 arrivals over about four windows
          const arrivals = Array.from({ length: 40 }, () => Math.floor(rand() ** 2 * 4 * W))
          const got = yield* slotsFor(arrivals)
          assert.strictEqual(got.length, 40)
          assert.isAtMost(maxInWindow(got, W + M), N, `seed ${seed}`)
        }
      })
  )

  it.effect("a burst of N goes without delay; the next waits exactly the window plus the margin", () =>
    Effect.gen(function* () {
      const got = yield* slotsFor(Array.from({ length: N + 1 }, () => 0))
      assert.deepStrictEqual(got.slice(0, N), Array(N).fill(0))
      assert.strictEqual(got[N], W + M)
    })
  )

  it.effect("a 429 the provider explains lowers the limit; one with none of ours before it keeps it", () =>
    Effect.gen(function* () {
      const limits = make(memoryRateStore(), policy, undefined)
      const slots = []
      for (let i = 0; i < 3; i++) slots.push((yield* limits.acquire(target)).slot)
      // the third of three was refused: the provider allows two, and those two fill the window
      yield* limits.refused(slots[2]!, undefined)
      assert.isUndefined(yield* limits.tryAcquire(target))
      yield* TestClock.adjust(W + M)
      assert.isDefined(yield* limits.tryAcquire(target))
      assert.isDefined(yield* limits.tryAcquire(target))
      assert.isUndefined(yield* limits.tryAcquire(target))
      // quiet windows bring it back up, one request per two windows (the first burst above was its window)
      yield* TestClock.adjust(W + M)
      assert.isDefined(yield* limits.tryAcquire(target))
      assert.isDefined(yield* limits.tryAcquire(target))
      assert.isDefined(yield* limits.tryAcquire(target))
      assert.isUndefined(yield* limits.tryAcquire(target))
      // a refusal of a request first in its window says nothing about our pace
      const fresh = make(memoryRateStore(), policy, undefined)
      const only = (yield* fresh.acquire(target)).slot
      yield* fresh.refused(only, undefined)
      for (let i = 0; i < N; i++) assert.isDefined(yield* fresh.tryAcquire(target))
    })
  )

  it.effect("a stated limit and a pause: no request before the reset, then bursts of the stated size", () =>
    Effect.gen(function* () {
      const limits = make(memoryRateStore(), policy, undefined)
      yield* limits.observe(target, { limit: 2, remaining: 0, resetAtMs: 500 })
      assert.isUndefined(yield* limits.tryAcquire(target))
      yield* TestClock.adjust(500)
      assert.isDefined(yield* limits.tryAcquire(target))
      assert.isDefined(yield* limits.tryAcquire(target))
      assert.isUndefined(yield* limits.tryAcquire(target))
      // a daily reset hours away is the quota ledger's business, not the window's
      const daily = make(memoryRateStore(), policy, undefined)
      yield* daily.observe(target, { limit: 1, remaining: 0, resetAtMs: 6 * 3_600_000 })
      assert.isDefined(yield* daily.tryAcquire(target))
    })
  )
})

vdescribe("Window", () => {
  vit(
    "a request fits while fewer than N are inside the window; else it waits for the oldest extra one to leave",
    () => {
      expect(Window.delayMs([], 2, 100, 0)).toBe(0)
      expect(Window.delayMs([0], 2, 100, 10)).toBe(0)
      expect(Window.delayMs([0, 5], 2, 100, 10)).toBe(90)
      expect(Window.delayMs([0, 5, 7], 2, 100, 10)).toBe(95)
      expect(Window.delayMs([0, 5], 2, 100, 100)).toBe(0) // the one sent at 0 has left at 100
      expect(Window.delayMs([0, 5], 2, 100, 99)).toBe(1)
    }
  )

  vit("the least time: full windows between bursts", () => {
    expect(Window.leastDurationMs(0, 20, 60_500)).toBe(0)
    expect(Window.leastDurationMs(20, 20, 60_500)).toBe(0)
    expect(Window.leastDurationMs(21, 20, 60_500)).toBe(60_500)
    expect(Window.leastDurationMs(41, 20, 60_500)).toBe(121_000)
  })

  vit("a limit only tightens: to how many went before a refusal, or to a stated limit", () => {
    expect(Window.tightened(20, { before: 8, hint: undefined })).toBe(8)
    expect(Window.tightened(20, { before: 0, hint: undefined })).toBe(20)
    expect(Window.tightened(20, { before: undefined, hint: 30 })).toBe(20)
    expect(Window.tightened(20, { before: 12, hint: 8 })).toBe(8)
  })

  vit("a fractional rate becomes whole requests over a longer window, never faster", () => {
    const [b] = make(
      memoryRateStore(),
      Policy.make({ free: { rpm: 0.5 }, window: { marginMs: 0 } }),
      undefined
    ).buckets(target) as [Bucket]
    expect([b.limit, b.windowMs]).toEqual([1, 120_000])
  })
})
