/**
 * Pacing to the provider's own rule, end to end with real processes: at most N requests in any
 * window, bursts up to N at once, zero 429s in one process or eight sharing Redis, and a bucket
 * that learns when the provider is stricter than configured. Windows are scaled to 2 s, with a
 * 300 ms margin: the suite runs many processes at once, and a loaded machine delays sends.
 */
import { readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { NodeRedis } from "@effect/platform-node"
import { Limits, RedisRateStore, RedisStores } from "@tollgate/core"
import { Policy } from "@tollgate/pricing"
import { Effect, Layer } from "effect"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { runCli, tempHome } from "./support/cli.ts"
import { fanOut } from "./support/pipelines.ts"
import { start } from "./support/processes.ts"
import { type RedisServer, startRedis } from "./support/redis.ts"
import { simulatorPool } from "./support/simulator.ts"

const { sim, closeAll } = simulatorPool()
afterEach(closeAll)
let redis: RedisServer
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(() => redis?.stop())

const FREE = "openai/gpt-oss-20b:free"
const WINDOW_MS = 2_000
/** OpenRouter's 20 free requests per window, the window scaled from 60 s to 2 s. */
const SCALED = "limits: { window: 2s, window_margin: 300ms }\naccount: { credits_purchased_usd: 10 }"

const runJson = async (file: string, url: string, args: string[] = []) => {
  const r = await runCli(
    ["run", file, "--base-url", url, "--format", "json", "--out-dir", join(dirname(file), "runs"), ...args],
    { env: { TOLLGATE_HOME: tempHome() }, cwd: dirname(file) }
  )
  return { ...r, summary: r.stdout === "" ? undefined : JSON.parse(r.stdout) }
}

const events = (runDir: string) =>
  readFileSync(join(runDir, "events.ndjson"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { type: string; at: number; label?: string })

describe("pacing to the provider's window", () => {
  it("25 free requests at 20 per window, one process: a burst of 20, the rest a window later, zero 429s", async () => {
    const s = await sim({ rpm: { [FREE]: 20 }, windowMs: WINDOW_MS })
    const file = fanOut({ model: FREE, items: 25, extra: SCALED })
    const r = await runJson(file, s.url, ["--concurrency", "25"])
    expect(r.code).toBe(0)
    expect(s.log.filter((a) => a.status === 429)).toHaveLength(0)
    expect(s.successes()).toHaveLength(25)
    expect(r.summary.actual).toMatchObject({ requests: 25, rate_limited: 0, retries: 0 })
    // the first 20 went together; the 21st waited for the window to pass
    const sends = s.log.map((a) => a.at).sort((a, b) => a - b)
    expect(sends[19]! - sends[0]!).toBeLessThan(WINDOW_MS / 2)
    expect(sends[20]! - sends[0]!).toBeGreaterThanOrEqual(WINDOW_MS)
  })

  it("10 free requests at 20 per window: no wait at all", async () => {
    const s = await sim({ rpm: { [FREE]: 20 }, windowMs: WINDOW_MS })
    const file = fanOut({ model: FREE, items: 10, extra: SCALED })
    const r = await runJson(file, s.url, ["--concurrency", "10"])
    expect(r.code).toBe(0)
    expect(s.successes()).toHaveLength(10)
    expect(events(r.summary.run.dir).filter((e) => e.type === "wait" || e.type === "waiting")).toEqual([])
  })

  it("a provider stricter than configured: the bucket learns from its first 429; at most one more after it", async () => {
    for (const unstatedLimit of [false, true]) {
      const s = await sim({ rpm: { [FREE]: 8 }, windowMs: WINDOW_MS, unstatedLimit })
      const file = fanOut({
        model: FREE,
        items: 24,
        extra: SCALED,
        stepExtra: "    retry: { max_attempts: 6 }"
      })
      const r = await runJson(file, s.url, ["--concurrency", "2"])
      expect(r.code).toBe(0)
      expect(s.successes()).toHaveLength(24)
      const first = s.log.find((a) => a.status === 429)
      expect(first).toBeDefined()
      // requests already on the wire when the first 429 came back cannot be recalled; of the
      // ones sent after it, at most one more is refused
      const later = s.log.filter((a) => a.at > first!.answeredAt && a.status === 429)
      expect(later.length, `stated limit: ${!unstatedLimit}`).toBeLessThanOrEqual(1)
      expect(r.summary.actual.rate_limited).toBe(s.log.filter((a) => a.status === 429).length)
    }
  })

  it("a 403 workspace budget (a message, no metadata) stops the run as a gate: exit 3, the provider's message, nothing new sent", async () => {
    const s = await sim({ budgetAfter: 3 })
    const file = fanOut({ model: "openai/gpt-4o-mini", items: 12 })
    const r = await runJson(file, s.url, ["--concurrency", "1"])
    expect(r.code).toBe(3)
    expect(r.stderr).toContain("Workspace monthly budget of $500.00 exceeded")
    expect(s.log.filter((a) => a.status === 403)).toHaveLength(1)
    expect(s.log).toHaveLength(4)
    expect(r.summary.status).toBe("stopped")
  })
})

describe("pacing shared through Redis", () => {
  const processes = async (n: number, items: number) => {
    const s = await sim({ rpm: { [FREE]: 20 }, windowMs: WINDOW_MS })
    const runs = Array.from({ length: n }, (_, i) => {
      // eight runner processes start on two cores beside the rest of the suite: a send can lag its
      // place in the window by more than the default margin, so these runs take a wider one
      const file = fanOut({ model: FREE, items, maxTokens: 10 + i, extra: SCALED.replace("300ms", "800ms") })
      const args = ["run", file, "--base-url", s.url, "--no-cache", "--store", redis.url]
      // one home each, as on separate machines: only the store and the key are shared
      const env = { OPENROUTER_API_KEY: "sk-pacing-shared", TOLLGATE_HOME: tempHome() }
      return start([...args, "--out-dir", join(dirname(file), "runs")], dirname(file), env).done
    })
    const codes = await Promise.all(runs)
    return { codes, s }
  }

  it("2 processes × 15 on one key: zero 429s together", async () => {
    const { codes, s } = await processes(2, 15)
    expect(codes).toEqual([0, 0])
    expect(s.log.filter((a) => a.status === 429)).toHaveLength(0)
    expect(s.successes()).toHaveLength(30)
  })

  it("8 processes × 5 on one key: zero 429s together", async () => {
    const { codes, s } = await processes(8, 5)
    expect(codes).toEqual(Array(8).fill(0))
    expect(s.log.filter((a) => a.status === 429)).toHaveLength(0)
    expect(s.successes()).toHaveLength(40)
  })
})

describe("the Redis window", () => {
  const policy = Policy.make({ free: { rpm: 5 }, window: { windowMs: 60_000, marginMs: 0 } })
  const onConnection = <A>(f: (limits: Limits.LimitsShape) => Effect.Effect<A, unknown>) =>
    Effect.scoped(
      Effect.gen(function* () {
        const ctx = yield* Layer.build(NodeRedis.layer({ url: redis.url }))
        const store = yield* Effect.provide(RedisRateStore.makeRateStore(RedisStores.PREFIX), ctx)
        return yield* f(Limits.make(store, policy, undefined))
      })
    )

  it("2 connections × 20 concurrent takes on one bucket: exactly its limit get a place", async () => {
    const target = { fingerprint: `fp-${Date.now()}`, modelId: FREE, free: true }
    const takes = onConnection((limits) =>
      Effect.forEach(Array.from({ length: 20 }), () => limits.tryAcquire(target), { concurrency: 10 })
    )
    const [a, b] = await Effect.runPromise(Effect.all([takes, takes], { concurrency: 2 }))
    expect([...a, ...b].filter((s) => s !== undefined)).toHaveLength(5)
  })

  it("keys carry the key fingerprint as a hash tag: one Redis Cluster slot per key", () => {
    const [b] = Limits.bucketsFor(policy, undefined, { fingerprint: "abc123", modelId: FREE, free: true })
    const keys = RedisRateStore.keysOf("tollgate:", b!)
    expect(keys.every((k) => k.includes("{abc123}"))).toBe(true)
  })

  it("a refusal after two of ours lowers the shared limit to two, for every connection", async () => {
    const target = { fingerprint: `fp-t-${Date.now()}`, modelId: FREE, free: true }
    await Effect.runPromise(
      onConnection((limits) =>
        Effect.gen(function* () {
          const slots = [yield* limits.tryAcquire(target), yield* limits.tryAcquire(target)]
          const third = yield* limits.tryAcquire(target)
          yield* limits.refused(third!, undefined)
          return slots
        })
      )
    )
    const other = await Effect.runPromise(onConnection((limits) => limits.tryAcquire(target)))
    expect(other).toBeUndefined()
  })

  it("a limit learned in Redis recovers: two quiet windows later, one more place for every connection", async () => {
    const short = Policy.make({ free: { rpm: 3 }, window: { windowMs: 300, marginMs: 0 } })
    const target = { fingerprint: `fp-recover-${Date.now()}`, modelId: FREE, free: true }
    const places = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const ctx = yield* Layer.build(NodeRedis.layer({ url: redis.url }))
          const store = yield* Effect.provide(RedisRateStore.makeRateStore(RedisStores.PREFIX), ctx)
          const limits = Limits.make(store, short, undefined)
          const count = Effect.gen(function* () {
            let n = 0
            while ((yield* limits.tryAcquire(target)) !== undefined) n++
            return n
          })
          yield* limits.tryAcquire(target)
          const refused = yield* limits.tryAcquire(target)
          yield* limits.refused(refused!, undefined) // learned: one a window
          yield* Effect.sleep(310)
          const learned = yield* count
          yield* Effect.sleep(2 * 300 + 10) // two quiet windows since the refusal (the sleep above among them)
          return { learned, recovered: yield* count }
        })
      )
    )
    expect(places).toEqual({ learned: 1, recovered: 2 })
  })

  it("a place moved to its send lives a window past the send, not past the take", async () => {
    const short = Policy.make({ free: { rpm: 1 }, window: { windowMs: 1_000, marginMs: 0 } })
    const target = { fingerprint: `fp-touch-${Date.now()}`, modelId: FREE, free: true }
    const second = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const ctx = yield* Layer.build(NodeRedis.layer({ url: redis.url }))
          const store = yield* Effect.provide(RedisRateStore.makeRateStore(RedisStores.PREFIX), ctx)
          const limits = Limits.make(store, short, undefined)
          const slot = yield* limits.tryAcquire(target)
          yield* Effect.sleep(600)
          yield* limits.touch(slot!) // sent 600 ms after its place was taken
          yield* Effect.sleep(600) // a window after the take, not after the send
          return yield* limits.tryAcquire(target)
        })
      )
    )
    expect(second).toBeUndefined()
  })
})
