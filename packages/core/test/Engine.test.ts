import { assert, describe, it } from "@effect/vitest"
import { Money, Policy } from "@tollgate/pricing"
import { Effect, Exit, Fiber, Layer, Semaphore } from "effect"
import { TestClock } from "effect/testing"
import { Budget } from "../src/Budget.ts"
import { Engine, type EngineEvent, RunStopped } from "../src/Engine.ts"
import { Limits } from "../src/Limits.ts"
import { LedgerError, QuotaLedger } from "../src/QuotaLedger.ts"
import { ResponseCache } from "../src/ResponseCache.ts"
import { driveClock, engineLayer, job, maxInWindow, ok, scripted, status } from "./support.ts"

describe("Engine pacing", () => {
  it.effect(
    "1,000 requests to a free model at 20 rpm: bursts of 20, never more than 20 in any 60 s, done within 1% of 49 min",
    () => {
      const sim = scripted(() => Effect.succeed(ok()))
      return Effect.gen(function* () {
        const engine = yield* Engine
        const exit = yield* driveClock(
          Effect.forEach(
            Array.from({ length: 1000 }, (_, i) => i),
            (i) => engine.execute(job({ label: `s[${i}]` })),
            { concurrency: 8 }
          ),
          1000
        )
        assert.isTrue(Exit.isSuccess(exit))
        assert.strictEqual(sim.sends.length, 1000)
        const times = sim.sends.map((s) => s.at)
        assert.isAtMost(maxInWindow(times, 60_000), 20)
        const elapsed = Math.max(...times) - Math.min(...times)
        // 50 bursts of 20, a window apart: the last burst leaves 49 windows after the first
        const ideal = 49 * 60_000
        assert.isAtMost(Math.abs(elapsed - ideal) / ideal, 0.01, `elapsed ${elapsed} ms`)
      }).pipe(Effect.provide(engineLayer({ provider: sim.layer, creditsPurchasedUsd: 10 })))
    }
  )

  it.effect("two API keys never share a bucket", () =>
    Effect.gen(function* () {
      const { bucketsFor } = yield* Effect.promise(() => import("../src/Limits.ts"))
      const a = bucketsFor(Policy.defaultPolicy, undefined, {
        fingerprint: "a",
        modelId: "m:free",
        free: true
      })
      const b = bucketsFor(Policy.defaultPolicy, undefined, {
        fingerprint: "b",
        modelId: "m:free",
        free: true
      })
      assert.notStrictEqual(a[0]!.key, b[0]!.key)
      const paid = bucketsFor(Policy.defaultPolicy, 5, { fingerprint: "a", modelId: "x/y", free: false })
      // 5 req/s at a $5 balance: 5 in any second, plus the 100 ms jitter margin
      assert.deepStrictEqual([paid[0]!.limit, paid[0]!.windowMs], [5, 1_100])
    })
  )
})

describe("Engine retries", () => {
  it.effect(
    "a 429 with Retry-After: 7 delays that request at least 7 s and the attempt counts against quota",
    () => {
      const sim = scripted((_, n) =>
        Effect.succeed(n === 1 ? status(429, { "retry-after": "7" }, "rate limited") : ok())
      )
      const events: EngineEvent[] = []
      return Effect.gen(function* () {
        const engine = yield* Engine
        const ledger = yield* QuotaLedger
        const exit = yield* driveClock(engine.execute(job()), 100)
        assert.isTrue(Exit.isSuccess(exit))
        assert.strictEqual(sim.sends.length, 2)
        assert.isAtLeast(sim.sends[1]!.at - sim.sends[0]!.at, 7000)
        const used = yield* ledger.used("testkey", Policy.utcDay(new Date(0)))
        assert.strictEqual(used, 2)
        if (Exit.isSuccess(exit)) assert.strictEqual(exit.value.rateLimited, 1)
        assert.isTrue(
          events.some((e) => e.type === "retry" && e.reason === "rate-limited" && e.delayMs === 7000)
        )
      }).pipe(Effect.provide(engineLayer({ provider: sim.layer, events })))
    }
  )

  it.effect("X-RateLimit-Reset is epoch milliseconds", () => {
    const sim = scripted((_, n, at) =>
      Effect.succeed(n === 1 ? status(429, { "X-RateLimit-Reset": String(at + 12_000) }) : ok())
    )
    return Effect.gen(function* () {
      const engine = yield* Engine
      yield* driveClock(engine.execute(job()), 100)
      assert.isAtLeast(sim.sends[1]!.at - sim.sends[0]!.at, 12_000)
      assert.isBelow(sim.sends[1]!.at - sim.sends[0]!.at, 16_000)
    }).pipe(Effect.provide(engineLayer({ provider: sim.layer })))
  })

  it.effect(
    "the daily free cap (free-models-per-day) is never retried: the run stops with its reset time",
    () => {
      const sim = scripted(() =>
        Effect.succeed(
          status(
            429,
            { "X-RateLimit-Remaining": "0" },
            "Rate limit exceeded: free-models-per-day. Add 10 credits to unlock 1000"
          )
        )
      )
      return Effect.gen(function* () {
        const engine = yield* Engine
        const exit = yield* driveClock(engine.execute(job({ maxAttempts: 5 })), 100)
        assert.strictEqual(sim.sends.length, 1)
        assert.isTrue(Exit.isFailure(exit))
        const stopped = yield* engine.stopped
        assert.strictEqual(stopped?.reason, "daily-free-quota")
        assert.strictEqual(stopped?.resetAtMs, 86_400_000) // next UTC midnight after t=0
        assert.match(stopped!.message, /resets at 1970-01-02T00:00:00Z/)
        const again = yield* Effect.exit(engine.execute(job()))
        assert.isTrue(Exit.isFailure(again))
        assert.strictEqual(sim.sends.length, 1)
      }).pipe(Effect.provide(engineLayer({ provider: sim.layer })))
    }
  )

  it.effect("5xx and transport errors back off and retry; 400 fails at once", () => {
    const sim = scripted((req, n) => {
      if (req.body.model === "openai/gpt-4o-mini") return Effect.succeed(status(400, {}, "bad params"))
      if (n === 1) return Effect.succeed(status(502))
      if (n === 2)
        return Effect.succeed({ _tag: "Transport", reason: "reset", message: "ECONNRESET" } as const)
      return Effect.succeed(ok())
    })
    return Effect.gen(function* () {
      const engine = yield* Engine
      const good = yield* driveClock(engine.execute(job({ maxAttempts: 3 })), 100)
      assert.isTrue(Exit.isSuccess(good))
      assert.strictEqual(sim.sends.length, 3)
      const bad = yield* driveClock(engine.execute(job({ model: "openai/gpt-4o-mini", maxAttempts: 3 })), 100)
      assert.isTrue(Exit.isFailure(bad))
      assert.strictEqual(sim.sends.length, 4)
    }).pipe(Effect.provide(engineLayer({ provider: sim.layer })))
  })

  it.effect("a 402 stops new requests while those in flight settle", () => {
    // request 3 answers 402 at t=1s; the others take 5 s each
    const sim = scripted((_, n) =>
      n === 3
        ? Effect.as(Effect.sleep(1000), status(402, {}, "Insufficient credits"))
        : Effect.as(Effect.sleep(5000), ok({}, 0.001))
    )
    return Effect.gen(function* () {
      const engine = yield* Engine
      const budget = yield* Budget
      const exit = yield* driveClock(
        Effect.forEach(
          Array.from({ length: 20 }, (_, i) => i),
          (i) => Effect.exit(engine.execute(job({ model: "openai/gpt-4o-mini", label: `s[${i}]` }))),
          { concurrency: 4 }
        ),
        100
      )
      assert.isTrue(Exit.isSuccess(exit))
      assert.strictEqual(sim.sends.length, 4) // the 4 in flight when the 402 came; nothing after
      const results = Exit.isSuccess(exit) ? exit.value : []
      assert.strictEqual(results.filter(Exit.isSuccess).length, 3) // in-flight ones completed
      const snap = yield* budget.snapshot
      assert.strictEqual(snap.open, 0)
      assert.strictEqual(Money.toPlain(snap.spent), "0.003")
      assert.strictEqual((yield* engine.stopped)?.reason, "credits")
    }).pipe(Effect.provide(engineLayer({ provider: sim.layer })))
  })
})

describe("Engine fairness", () => {
  it.effect(
    "requests waiting for a pacing slot hold no in-flight permit: a paid step beside a paced free step is not starved",
    () => {
      const sim = scripted(() => Effect.as(Effect.sleep(100), ok()))
      return Effect.gen(function* () {
        const engine = yield* Engine
        const gate = yield* Semaphore.make(2)
        const inflight = gate.withPermits(1)
        const free = Array.from({ length: 10 }, (_, i) =>
          engine.execute(job({ label: `free[${i}]`, inflight }))
        )
        const paid = Array.from({ length: 5 }, (_, i) =>
          engine.execute(job({ label: `paid[${i}]`, model: "openai/gpt-4o-mini", inflight }))
        )
        const exit = yield* driveClock(Effect.all([...free, ...paid], { concurrency: "unbounded" }), 50)
        assert.isTrue(Exit.isSuccess(exit))
        const paidSends = sim.sends.filter((s) => s.body.model === "openai/gpt-4o-mini").map((s) => s.at)
        assert.strictEqual(paidSends.length, 5)
        assert.isBelow(Math.max(...paidSends), 1000) // not after the free step's 27 s of pacing
        const freeSends = sim.sends.filter((s) => s.body.model !== "openai/gpt-4o-mini").map((s) => s.at)
        // 10 free requests fit one window of 20: they go as fast as the two permits allow
        assert.strictEqual(freeSends.length, 10)
        assert.isBelow(Math.max(...freeSends), 1000)
      }).pipe(Effect.provide(engineLayer({ provider: sim.layer })))
    }
  )
})

describe("Engine stops and 429 accounting", () => {
  it.effect("a stop cuts short a request waiting for its pacing slot; nothing more is sent", () => {
    const sim = scripted(() => Effect.succeed(ok()))
    return Effect.gen(function* () {
      const engine = yield* Engine
      // 21 requests at 20 rpm: the 21st waits a window for its slot
      const fiber = yield* Effect.forkChild(
        Effect.all(
          Array.from({ length: 21 }, (_, i) => Effect.exit(engine.execute(job({ label: `r${i}` })))),
          { concurrency: "unbounded" }
        )
      )
      yield* TestClock.adjust(1000)
      yield* engine.stop(new RunStopped({ reason: "interrupted", message: "stop" }))
      const exit = yield* Effect.exit(Fiber.join(fiber))
      assert.isTrue(Exit.isSuccess(exit))
      if (Exit.isSuccess(exit)) assert.strictEqual(exit.value.filter(Exit.isFailure).length, 1)
      assert.strictEqual(sim.sends.length, 20)
    }).pipe(Effect.provide(engineLayer({ provider: sim.layer })))
  })

  it.effect("429s the provider says how long to wait do not use up max_attempts; other retries do", () => {
    const sim = scripted((_, n) => Effect.succeed(n <= 4 ? status(429, { "retry-after": "1" }) : ok()))
    return Effect.gen(function* () {
      const engine = yield* Engine
      const exit = yield* driveClock(engine.execute(job({ maxAttempts: 2 })), 100)
      assert.isTrue(Exit.isSuccess(exit))
      assert.strictEqual(sim.sends.length, 5)
    }).pipe(Effect.provide(engineLayer({ provider: sim.layer })))
  })
})

describe("Engine budget and cache", () => {
  it.effect("stops before a request that could pass max_cost_usd; never spends past it", () => {
    const sim = scripted(() => Effect.succeed(ok({}, 0.004)))
    return Effect.gen(function* () {
      const engine = yield* Engine
      const budget = yield* Budget
      const results = yield* Effect.forEach(
        Array.from({ length: 10 }, (_, i) => i),
        (i) =>
          Effect.exit(
            engine.execute(
              job({ model: "openai/gpt-4o-mini", label: `s[${i}]`, worstCost: Money.usd("0.005") })
            )
          ),
        { concurrency: 3 }
      )
      const snap = yield* budget.snapshot
      assert.isTrue(Money.lte(snap.spent, Money.usd("0.02")))
      assert.isTrue(results.some(Exit.isFailure))
      assert.strictEqual((yield* engine.stopped)?.reason, "budget")
      assert.strictEqual(snap.open, 0)
    }).pipe(Effect.provide(engineLayer({ provider: sim.layer, budget: { maxCostUsd: Money.usd("0.02") } })))
  })

  it.effect(
    "a request the budget refuses gives its pacing place back: the window counts only what was sent",
    () => {
      const sim = scripted(() => Effect.succeed(ok()))
      return Effect.gen(function* () {
        const engine = yield* Engine
        const limits = yield* Limits
        assert.isTrue(Exit.isSuccess(yield* Effect.exit(engine.execute(job({ label: "a" })))))
        // the second free request takes a place in the 20-a-minute window, then the run's free share refuses it
        assert.isTrue(Exit.isFailure(yield* Effect.exit(engine.execute(job({ label: "b" })))))
        assert.strictEqual((yield* engine.stopped)?.reason, "free-quota")
        assert.strictEqual(sim.sends.length, 1)
        const target = { fingerprint: "testkey", modelId: job().models[0]!.id, free: true }
        let places = 0
        while ((yield* limits.tryAcquire(target)) !== undefined) places++
        assert.strictEqual(places, 19)
      }).pipe(Effect.provide(engineLayer({ provider: sim.layer, budget: { maxFreeRequests: 1 } })))
    }
  )

  it.effect("a cached reply costs $0 and no quota; identical requests in flight are sent once", () => {
    const sim = scripted(() => Effect.as(Effect.sleep(100), ok()))
    return Effect.gen(function* () {
      const engine = yield* Engine
      const ledger = yield* QuotaLedger
      const exit = yield* driveClock(
        Effect.all([engine.execute(job({ useCache: true })), engine.execute(job({ useCache: true }))], {
          concurrency: 2
        }),
        50
      )
      assert.isTrue(Exit.isSuccess(exit))
      assert.strictEqual(sim.sends.length, 1)
      const again = yield* engine.execute(job({ useCache: true }))
      assert.isTrue(again.cached)
      assert.isTrue(Money.isZero(again.cost))
      assert.strictEqual(sim.sends.length, 1)
      assert.strictEqual(yield* ledger.used("testkey", Policy.utcDay(new Date(0))), 1)
    }).pipe(Effect.provide(engineLayer({ provider: sim.layer, cache: ResponseCache.layerMemory() })))
  })

  it.effect(
    "identical requests in flight share a failure too: one send, each told why, nothing cached",
    () => {
      const sim = scripted(() => Effect.as(Effect.sleep(100), status(400, {}, "bad params")))
      return Effect.gen(function* () {
        const engine = yield* Engine
        const exits = yield* driveClock(
          Effect.all(
            [0, 1, 2].map(() => Effect.exit(engine.execute(job({ useCache: true })))),
            { concurrency: 3 }
          ),
          50
        )
        assert.isTrue(Exit.isSuccess(exits))
        if (!Exit.isSuccess(exits)) return
        for (const e of exits.value)
          assert.isTrue(Exit.isFailure(e) && String(e.cause).includes("bad params"))
        assert.strictEqual(sim.sends.length, 1)
        // nothing was cached and nobody waits: the next is sent again
        yield* driveClock(Effect.exit(engine.execute(job({ useCache: true }))), 50)
        assert.strictEqual(sim.sends.length, 2)
      }).pipe(Effect.provide(engineLayer({ provider: sim.layer, cache: ResponseCache.layerMemory() })))
    }
  )

  it.effect(
    "a request abandoned mid-flight (timeout) keeps its worst case in the budget and the reported cost; a 502 does not",
    () => {
      const sim = scripted((_, n) =>
        Effect.succeed(
          n === 1
            ? ({ _tag: "Transport", reason: "timeout", message: "no reply" } as const)
            : n === 2
              ? status(502)
              : ok({}, 0.0001)
        )
      )
      return Effect.gen(function* () {
        const engine = yield* Engine
        const budget = yield* Budget
        const exit = yield* driveClock(
          engine.execute(job({ model: "openai/gpt-4o-mini", worstCost: Money.usd("0.001") })),
          100
        )
        assert.isTrue(Exit.isSuccess(exit))
        // what was billed, plus the abandoned attempt at its worst case (the provider may bill it)
        if (Exit.isSuccess(exit)) {
          assert.strictEqual(Money.toPlain(exit.value.cost), "0.0011")
          assert.strictEqual(exit.value.abandoned, 1)
        }
        const snap = yield* budget.snapshot
        assert.strictEqual(Money.toPlain(snap.spent), "0.0011") // plus the abandoned attempt's worst case
        assert.strictEqual(snap.open, 0)
      }).pipe(Effect.provide(engineLayer({ provider: sim.layer })))
    }
  )

  it.effect("actual cost is usage.cost when present, else tokens × catalog prices", () => {
    const sim = scripted((_, n) => Effect.succeed(n === 1 ? ok({}, 0.5) : ok()))
    return Effect.gen(function* () {
      const engine = yield* Engine
      const a = yield* engine.execute(job({ model: "openai/gpt-4o-mini" }))
      assert.strictEqual(a.costSource, "usage")
      assert.strictEqual(Money.toPlain(a.cost), "0.5")
      const b = yield* engine.execute(job({ model: "openai/gpt-4o-mini" }))
      assert.strictEqual(b.costSource, "catalog")
      // 10 × 0.00000015 + 5 × 0.0000006
      assert.strictEqual(Money.toPlain(b.cost), "0.0000045")
    }).pipe(Effect.provide(engineLayer({ provider: sim.layer })))
  })
})

describe("Engine retries: a request that gives up", () => {
  it.effect(
    "does not leave its bucket paused: a provider-timed 429 pauses the bucket only when the request goes again",
    () => {
      // the first job only ever gets 429 Retry-After: 30; the second job is answered at once
      const sim = scripted((req) =>
        Effect.succeed(
          JSON.stringify(req.body).includes("first")
            ? status(429, { "retry-after": "30" }, "rate limited")
            : ok()
        )
      )
      return Effect.gen(function* () {
        const engine = yield* Engine
        const first = job({
          label: "first",
          maxAttempts: 1,
          request: {
            baseUrl: "http://sim",
            body: {
              model: "openai/gpt-oss-20b:free",
              messages: [{ role: "user", content: "first" }],
              max_tokens: 5
            },
            timeoutMs: 1000
          }
        })
        const failed = yield* driveClock(engine.execute(first), 1000)
        assert.isTrue(Exit.isFailure(failed))
        const lastSend = sim.sends.at(-1)!.at
        const second = yield* driveClock(engine.execute(job({ label: "second" })), 1000)
        assert.isTrue(Exit.isSuccess(second))
        // 11 attempts of the first: 10 provider-timed 429s waited out, the 11th counted and final
        assert.strictEqual(sim.sends.length, 12)
        assert.isBelow(sim.sends.at(-1)!.at - lastSend, 30_000)
      }).pipe(Effect.provide(engineLayer({ provider: sim.layer, creditsPurchasedUsd: 10 })))
    }
  )
})

describe("Engine and a ledger that dies mid-count", () => {
  it.effect("the count's id is reported as unsettled, and the request is not sent", () => {
    const sim = scripted(() => Effect.succeed(ok()))
    const events: EngineEvent[] = []
    const counted: string[] = []
    // counts, then loses the answer: as Redis killed right after running the script
    const dying = Layer.succeed(QuotaLedger, {
      used: () => Effect.succeed(0),
      consume: (_fp, _day, _n, _limit, id) =>
        Effect.andThen(
          Effect.sync(() => void counted.push(id ?? "")),
          Effect.fail(new LedgerError({ message: "quota ledger (redis): connection lost" }))
        ),
      refund: () => Effect.succeed(false)
    })
    return Effect.gen(function* () {
      const engine = yield* Engine
      const exit = yield* Effect.exit(engine.execute(job()))
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(sim.sends.length, 0)
      const unsettled = events.find((e) => e.type === "ledger-unsettled")
      assert.isDefined(unsettled)
      assert.deepStrictEqual(unsettled?.type === "ledger-unsettled" ? [unsettled.id] : [], counted)
    }).pipe(Effect.provide(engineLayer({ provider: sim.layer, ledger: dying, events })))
  })
})
