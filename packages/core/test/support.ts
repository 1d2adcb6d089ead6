/** Test helpers: a scripted provider, an engine over memory stores, and a driver for TestClock. */

import { CatalogStore } from "@tollgate/core"
import { type Catalog, Money, Policy } from "@tollgate/pricing"
import { Clock, Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { Budget, type BudgetLimits } from "../src/Budget.ts"
import { Engine, type EngineConfig, type EngineEvent, type Job } from "../src/Engine.ts"
import { Limits } from "../src/Limits.ts"
import { type ChatRequest, Provider } from "../src/Provider.ts"
import { QuotaLedger } from "../src/QuotaLedger.ts"
import { ResponseCache } from "../src/ResponseCache.ts"
import type { Outcome } from "../src/Retry.ts"

export const catalog = CatalogStore.bundled()

export const ok = (body: Record<string, unknown> = {}, cost?: number): Outcome => ({
  _tag: "Response",
  status: 200,
  headers: {},
  body: {
    id: "gen-1",
    model: "test",
    choices: [{ message: { role: "assistant", content: "ok" } }],
    usage: {
      prompt_tokens: 10,
      completion_tokens: 5,
      total_tokens: 15,
      ...(cost !== undefined ? { cost } : {})
    },
    ...body
  }
})

export const status = (
  code: number,
  headers: Record<string, string> = {},
  message = `error ${code}`
): Outcome => ({
  _tag: "Response",
  status: code,
  headers,
  body: { error: { code, message } }
})

/** A provider whose reply is computed per call; records the virtual time of every send. */
export const scripted = (reply: (req: ChatRequest, n: number, at: number) => Effect.Effect<Outcome>) => {
  const sends: Array<{ at: number; body: Readonly<Record<string, unknown>> }> = []
  const layer = Layer.succeed(Provider, {
    send: (req) =>
      Effect.flatMap(Clock.currentTimeMillis, (at) => {
        sends.push({ at, body: req.body })
        return reply(req, sends.length, at)
      })
  })
  return { sends, layer }
}

export const job = (over: Partial<Job> & { model?: string; label?: string } = {}): Job => {
  const model = catalog.resolveOrThrow(over.model ?? "openai/gpt-oss-20b:free").model
  const { label, ...rest } = over
  return {
    ref: { step: label ?? "step", item: 0 },
    request: {
      baseUrl: "http://sim",
      body: { model: model.id, messages: [{ role: "user", content: "hi" }], max_tokens: 10 },
      timeoutMs: 1000
    },
    models: [model],
    free: model.free,
    worstCost: Money.usd("0.001"),
    maxAttempts: 3,
    useCache: false,
    ...rest
  }
}

export interface EngineSetup {
  readonly provider: Layer.Layer<Provider>
  readonly budget?: BudgetLimits
  readonly policy?: Policy.Policy
  readonly creditsPurchasedUsd?: number
  readonly balanceUsd?: number
  readonly cache?: Layer.Layer<ResponseCache>
  readonly ledger?: Layer.Layer<QuotaLedger>
  readonly events?: EngineEvent[]
}

export const engineLayer = (s: EngineSetup) => {
  const policy = s.policy ?? Policy.defaultPolicy
  const config: EngineConfig = {
    fingerprint: "testkey",
    policy,
    creditsPurchasedUsd: s.creditsPurchasedUsd ?? 10,
    onEvent: (e) => s.events?.push(e)
  }
  return Engine.layer(config).pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        s.provider,
        Limits.layer(policy, s.balanceUsd),
        s.ledger ?? QuotaLedger.layerMemory,
        Budget.layer(s.budget ?? {}),
        s.cache ?? ResponseCache.layerMemory()
      )
    )
  )
}

/** Runs `effect` in a fiber and advances the TestClock in `stepMs` steps until it ends. */
export const driveClock = <A, E>(effect: Effect.Effect<A, E>, stepMs = 1000, maxSteps = 1_000_000) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.forkChild(effect)
    for (let i = 0; i < maxSteps; i++) {
      yield* Effect.yieldNow
      if (fiber.pollUnsafe() !== undefined) break
      yield* TestClock.adjust(stepMs)
    }
    return yield* Effect.exit(Fiber.join(fiber))
  })

export type { Catalog }

/** Most times inside any half-open window of `windowMs`. */
export const maxInWindow = (times: ReadonlyArray<number>, windowMs: number): number => {
  const sorted = [...times].sort((a, b) => a - b)
  let best = 0
  let lo = 0
  for (let hi = 0; hi < sorted.length; hi++) {
    while (sorted[hi]! - sorted[lo]! >= windowMs) lo++
    best = Math.max(best, hi - lo + 1)
  }
  return best
}
