/** `--store redis://…`: limits, quota ledger and cache shared by processes on one key. */
import { spawn } from "node:child_process"
import { dirname, join } from "node:path"
import { NodeRedis } from "@effect/platform-node"
import { RedisStores } from "@tollgate/core"
import { makeCalibration } from "@tollgate/runner/store/RedisCalibration"
import { Effect, Layer } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BIN, ROOT, runCli, tempHome } from "./support/cli.ts"
import { fanOut } from "./support/pipelines.ts"
import { type RedisServer, startRedis } from "./support/redis.ts"
import { startSimulator } from "./support/simulator.ts"

let redis: RedisServer
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(() => redis?.stop())

const FREE = "openai/gpt-oss-20b:free"

const runChild = (args: string[], env: Record<string, string>) =>
  new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: "ignore"
    })
    child.on("close", resolve)
  })

describe("the shared store", () => {
  it("two processes on one key share its rate limit and quota ledger (and without the store they would not)", async () => {
    // the provider allows 3 requests a second; so does each runner: alone, each stays inside it
    const pipelines = [0, 1].map((i) =>
      fanOut({
        model: FREE,
        items: 5,
        maxTokens: 10 + i,
        extra:
          "limits: { window: 1s, window_margin: 100ms, free: { rpm: 3 } }\naccount: { credits_purchased_usd: 10 }"
      })
    )
    const both = async (store: string | undefined) => {
      const s = await startSimulator({ rpm: { [FREE]: 3 }, windowMs: 1000 })
      const env = { OPENROUTER_API_KEY: "sk-shared-key", TOLLGATE_HOME: tempHome() }
      const codes = await Promise.all(
        pipelines.map((p) =>
          runChild(
            [
              "run",
              p,
              "--base-url",
              s.url,
              "--no-cache",
              "--out-dir",
              join(dirname(p), `runs-${store ? "s" : "l"}`),
              ...(store ? ["--store", store] : [])
            ],
            {
              ...env,
              TOLLGATE_HOME: tempHome()
            }
          )
        )
      )
      await s.close()
      return { codes, limited: s.log.filter((a) => a.status === 429).length, attempts: s.log.length }
    }
    const shared = await both(redis.url)
    expect(shared.codes).toEqual([0, 0])
    expect(shared.limited).toBe(0)
    expect(shared.attempts).toBe(10)
    const q = await runCli(["quota", "--store", redis.url, "--format", "json"], {
      env: { OPENROUTER_API_KEY: "sk-shared-key" }
    })
    expect(JSON.parse(q.stdout).free_used_today).toBe(10)
    // control: the same two runs, each with its own local state, pass the provider's limit together
    const local = await both(undefined)
    expect(local.limited).toBeGreaterThan(0)
  })

  it("the shared calibration index: updates from two connections at once keep every one (compare and set, retried)", async () => {
    const updater = (connection: string) =>
      Effect.scoped(
        Effect.gen(function* () {
          const ctx = yield* Layer.build(NodeRedis.layer({ url: redis.url }))
          const calibration = yield* Effect.provide(makeCalibration, ctx)
          yield* Effect.forEach(
            Array.from({ length: 8 }, (_, i) => `${connection}-${i}`),
            (model) =>
              calibration.update((index) => ({
                ...index,
                models: { ...index.models, [model]: { billed: 110, expected: 100, requests: 1 } }
              })),
            { concurrency: 4 }
          )
          return yield* calibration.read
        })
      )
    await Effect.runPromise(Effect.all([updater("a"), updater("b")], { concurrency: 2 }))
    const index = await Effect.runPromise(updater("c"))
    for (const c of ["a", "b", "c"])
      for (let i = 0; i < 8; i++) expect(index.models).toHaveProperty(`${c}-${i}`)
  })

  it("the Redis ledger: concurrent consumers on separate connections lose no count and never pass the limit", async () => {
    // 2 connections × 60 concurrent attempts against a limit of 100: exactly 100 recorded
    const consumer = Effect.scoped(
      Effect.gen(function* () {
        const ctx = yield* Layer.build(NodeRedis.layer({ url: redis.url }))
        const ledger = yield* Effect.provide(RedisStores.makeLedger, ctx)
        const results = yield* Effect.forEach(
          Array.from({ length: 60 }),
          () => ledger.consume("fp-ledger", "2026-11-23", 1, 100),
          {
            concurrency: 10
          }
        )
        return results.filter((r) => r.ok).length
      })
    )
    const [a, b] = await Effect.runPromise(Effect.all([consumer, consumer], { concurrency: 2 }))
    expect(a + b).toBe(100)
  })

  it("a day's count kept under the ledger's old key (before hash tags) carries over, once", async () => {
    const fp = `fp-old-${Date.now()}`
    const counts = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const ctx = yield* Layer.build(NodeRedis.layer({ url: redis.url }))
          const { Redis } = yield* Effect.promise(() => import("effect/persistence"))
          const r = yield* Effect.provide(Effect.service(Redis.Redis), ctx)
          yield* r.send("SET", `tollgate:ledger:${fp}:2026-11-23`, "7")
          const ledger = yield* Effect.provide(RedisStores.makeLedger, ctx)
          const before = yield* ledger.used(fp, "2026-11-23")
          const after = yield* ledger.consume(fp, "2026-11-23", 1, 100)
          const again = yield* Effect.provide(RedisStores.makeLedger, ctx)
          return [before, after.used, yield* again.used(fp, "2026-11-23")]
        })
      )
    )
    expect(counts).toEqual([7, 8, 8])
  })

  it("a count whose answer was lost is taken back by its id, once; an id never counted takes nothing", async () => {
    const fp = `fp-refund-${Date.now()}`
    const steps = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const ctx = yield* Layer.build(NodeRedis.layer({ url: redis.url }))
          const ledger = yield* Effect.provide(RedisStores.makeLedger, ctx)
          yield* ledger.consume(fp, "2026-11-23", 1, 100, "a")
          yield* ledger.consume(fp, "2026-11-23", 1, 100, "b")
          const first = yield* ledger.refund(fp, "2026-11-23", "b")
          const again = yield* ledger.refund(fp, "2026-11-23", "b")
          const never = yield* ledger.refund(fp, "2026-11-23", "zzz")
          return [first, again, never, yield* ledger.used(fp, "2026-11-23")]
        })
      )
    )
    expect(steps).toEqual([true, false, false, 1])
  })

  it("a reply cached by one machine is a hit for another (different state dirs, one store)", async () => {
    const s = await startSimulator()
    const file = fanOut({ model: "openai/gpt-4o-mini", items: 3, maxTokens: 33 })
    const a = await runCli(
      ["run", file, "--base-url", s.url, "--store", redis.url, "--out-dir", join(dirname(file), "a")],
      { env: { TOLLGATE_HOME: tempHome() } }
    )
    expect(a.code).toBe(0)
    expect(s.log).toHaveLength(3)
    const otherHome = tempHome()
    const plan = await runCli(["plan", file, "--base-url", s.url, "--store", redis.url, "--format", "json"], {
      env: { TOLLGATE_HOME: otherHome }
    })
    expect(JSON.parse(plan.stdout).requests).toEqual({ expected: 0, max: 0, cached: 3 })
    const b = await runCli(
      ["run", file, "--base-url", s.url, "--store", redis.url, "--out-dir", join(dirname(file), "b")],
      { env: { TOLLGATE_HOME: otherHome } }
    )
    expect(b.code).toBe(0)
    expect(s.log).toHaveLength(3)
    await s.close()
  })

  it("budget.shared: runs naming one pool never spend more than its max_cost_usd together", async () => {
    const s = await startSimulator({ completionTokens: (b) => Number(b.max_tokens) })
    const extra = "budget: { max_cost_usd: 0.0015, shared: team-nightly }"
    const a = fanOut({ model: "openai/gpt-4o-mini", items: 8, maxTokens: 200, extra })
    const b = fanOut({ model: "openai/gpt-4o-mini", items: 8, maxTokens: 201, extra })
    const env = { TOLLGATE_HOME: tempHome() }
    const first = await runCli(
      ["run", a, "--base-url", s.url, "--store", redis.url, "--out-dir", join(dirname(a), "runs")],
      { env }
    )
    expect(first.code).toBe(0)
    expect(first.stderr).not.toContain("ignored")
    const second = await runCli(
      ["run", b, "--base-url", s.url, "--store", redis.url, "--out-dir", join(dirname(b), "runs")],
      { env }
    )
    expect(second.code).toBe(3)
    expect(second.stderr).toMatch(/shared budget "team-nightly"/)
    const { Money } = await import("@tollgate/pricing")
    expect(Money.lte(s.billed(), Money.usd("0.0015"))).toBe(true)
    expect(s.successes().length).toBeGreaterThan(8)
    await s.close()
  })

  it("budget.shared with --shard: the pool holds the shards together to the whole max_cost_usd, not 1/n of it", async () => {
    const s = await startSimulator({ completionTokens: (b) => Number(b.max_tokens) })
    const extra = `budget: { max_cost_usd: 0.0015, gate: expected, shared: shards-${Date.now()} }`
    const file = fanOut({ model: "openai/gpt-4o-mini", items: 16, maxTokens: 200, extra })
    const env = { TOLLGATE_HOME: tempHome() }
    const codes: number[] = []
    // a store of its own: the shared one's calibration (other tests' replies at their cap) would
    // raise this plan's expected cost over the gate
    const own = await startRedis()
    for (const i of [1, 2, 3, 4]) {
      const args = ["run", file, "--base-url", s.url, "--store", own.url, "--shard", `${i}/4`]
      const r = await runCli([...args, "--out-dir", join(dirname(file), "runs")], { env })
      codes.push(r.code)
      if (i === 1) expect(r.code, r.stderr + r.stdout).toBe(0)
    }
    own.stop()
    const { Money } = await import("@tollgate/pricing")
    expect(Money.lte(s.billed(), Money.usd("0.0015"))).toBe(true)
    // each request costs about $0.00012: with a quarter of the budget as the pool's cap, 3 in all
    expect(s.successes().length).toBeGreaterThanOrEqual(11)
    expect(codes.at(-1)).toBe(3)
    await s.close()
  })

  it("--store with a bad port, path or escape: exit 2, one line, nothing sent; an IPv6 literal connects", async () => {
    const s = await startSimulator()
    const file = fanOut({ model: "openai/gpt-4o-mini", items: 1 })
    for (const url of [
      "redis://127.0.0.1:70000",
      "redis://127.0.0.1:6379/x/y",
      "redis://u:%zz@127.0.0.1:1"
    ]) {
      const r = await runCli(["run", file, "--base-url", s.url, "--store", url], {
        env: { TOLLGATE_HOME: tempHome() }
      })
      expect(r.code, url).toBe(2)
      expect(r.stderr.trim().split("\n"), url).toHaveLength(1)
      expect(r.stderr).toMatch(/^error: --store: /)
    }
    expect(s.log).toHaveLength(0)
    const v6 = await startRedis({ args: ["--bind", "127.0.0.1", "::1"] })
    try {
      const url = v6.url.replace("127.0.0.1", "[::1]")
      const r = await runCli(
        ["run", file, "--base-url", s.url, "--store", url, "--out-dir", join(dirname(file), "runs")],
        {
          env: { TOLLGATE_HOME: tempHome() }
        }
      )
      expect(r.code, r.stderr).toBe(0)
      expect(s.log).toHaveLength(1)
    } finally {
      v6.stop()
      await s.close()
    }
  })

  it("an unreachable store is exit 1 naming it, without its password, and nothing is sent", async () => {
    const s = await startSimulator()
    const file = fanOut({ model: "openai/gpt-4o-mini", items: 1 })
    const r = await runCli(["run", file, "--base-url", s.url, "--store", "redis://:hunter2@127.0.0.1:1"], {
      env: { TOLLGATE_HOME: tempHome() }
    })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/cannot reach the store redis:\/\/\*\*\*@127\.0\.0\.1:1/)
    expect(r.stderr).not.toContain("hunter2")
    expect(s.log).toHaveLength(0)
    await s.close()
  })
})
