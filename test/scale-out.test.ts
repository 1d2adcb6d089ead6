/**
 * Many runners on one key and one Redis: together within the rate limit, the daily free quota
 * and a shared budget pool; the store lost mid-run and back from its append-only file; and the
 * Redis settings that would lose the ledger, said up front. Real processes, real redis-server.
 */
import { spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { Money } from "@tollgate/pricing"
import { afterEach, describe, expect, it } from "vitest"
import { BIN, runCli, tempHome } from "./support/cli.ts"
import { fanOut } from "./support/pipelines.ts"
import { start, until } from "./support/processes.ts"
import { type RedisOptions, type RedisServer, startRedis } from "./support/redis.ts"
import { simulatorPool } from "./support/simulator.ts"

const { sim, closeAll } = simulatorPool()
let servers: RedisServer[] = []
afterEach(async () => {
  await closeAll()
  for (const r of servers) r.stop()
  servers = []
})
const redisServer = async (opts?: RedisOptions) => {
  const r = await startRedis(opts)
  servers.push(r)
  return r
}

const FREE = "openai/gpt-oss-20b:free"
const PAID = "openai/gpt-4o-mini"
const KEY = { OPENROUTER_API_KEY: "sk-scale-out" }

/** `n` runner processes, one pipeline and one home each (as on separate machines), one store. */
const runners = (n: number, pipeline: (i: number) => string, url: string, store: string) =>
  Promise.all(
    Array.from({ length: n }, (_, i) => {
      const file = pipeline(i)
      const args = ["run", file, "--base-url", url, "--no-cache", "--store", store, "--out-dir", "runs"]
      return start(args, dirname(file), { ...KEY, TOLLGATE_HOME: tempHome() }).done
    })
  )

describe("eight runners on one key", () => {
  it("together: zero 429s at 20 per window, free requests within the daily quota", async () => {
    const redis = await redisServer()
    const s = await sim({ rpm: { [FREE]: 20 }, windowMs: 2_000, freePerDay: 30 })
    // eight runner processes on two cores beside the rest of the suite: a send can lag its place in
    // the window by more than the default margin, so these runs take a wider one
    const extra =
      "account: { credits_purchased_usd: 10 }\nlimits: { window: 2s, window_margin: 800ms, free: { per_day: 30 } }"
    const codes = await runners(
      8,
      (i) => fanOut({ model: FREE, items: 5, maxTokens: 10 + i, extra }),
      s.url,
      redis.url
    )
    expect(s.log.filter((a) => a.status === 429)).toHaveLength(0)
    expect(s.log).toHaveLength(30) // the quota used to the last request, never past it
    expect(codes.every((c) => c === 0 || c === 3)).toBe(true)
    const q = await runCli(["quota", "--store", redis.url, "--format", "json"], { env: KEY })
    expect(JSON.parse(q.stdout).free_used_today).toBe(30)
  })

  it("together: spend within one shared budget pool", async () => {
    const redis = await redisServer()
    const s = await sim({ completionTokens: (b) => Number(b.max_tokens) })
    const extra = "budget: { max_cost_usd: 0.0005, shared: nightly }"
    const codes = await runners(
      8,
      (i) => fanOut({ model: PAID, items: 5, maxTokens: 50 + i, extra }),
      s.url,
      redis.url
    )
    expect(Money.lte(s.billed(), Money.usd("0.0005"))).toBe(true)
    expect(codes.filter((c) => c === 3).length).toBeGreaterThan(0) // the pool stopped some of them
    expect(s.successes().length).toBeLessThan(40)
  })
})

describe("the store lost mid-run, back from its append-only file", () => {
  it("every runner stops sending within a second and exits 1; resumed, nothing is billed twice and the ledger equals the provider's count", async () => {
    const aofDir = mkdtempSync(join(tmpdir(), "tg-aof-"))
    const redis = await redisServer({ aofDir })
    const s = await sim({ latencyMs: 150 })
    const extra = "account: { credits_purchased_usd: 10 }\nlimits: { free: { rpm: 6000 } }"
    const files = [0, 1].map((i) => fanOut({ model: FREE, items: 20, maxTokens: 10 + i, extra }))
    const homes = files.map(() => tempHome())
    const args = (file: string, store: string) => [
      "run",
      file,
      "--base-url",
      s.url,
      "--concurrency",
      "2",
      "--store",
      store,
      "--out-dir",
      "runs"
    ]
    const children = files.map((file, i) => {
      const child = spawn(process.execPath, [BIN, ...args(file, redis.url)], {
        cwd: dirname(file),
        env: { PATH: process.env.PATH ?? "", ...KEY, TOLLGATE_HOME: homes[i]! },
        stdio: ["ignore", "ignore", "pipe"]
      })
      let stderr = ""
      child.stderr.on("data", (d) => {
        stderr += d
      })
      return { done: new Promise<number | null>((r) => child.on("close", r)), stderr: () => stderr }
    })
    await until(() => s.log.length >= 6)
    redis.stop()
    const killedAt = Date.now()
    expect(await Promise.all(children.map((c) => c.done))).toEqual([1, 1])
    expect(s.log.filter((a) => a.at > killedAt + 1000)).toHaveLength(0)
    for (const c of children)
      expect(c.stderr().trimEnd().split("\n").at(-1)).toMatch(/^stopped: lost the store/)

    const back = await redisServer({ aofDir })
    const resumed = await Promise.all(
      files.map((file, i) =>
        runCli(args(file, back.url), { cwd: dirname(file), env: { ...KEY, TOLLGATE_HOME: homes[i]! } })
      )
    )
    expect(resumed.map((r) => r.code)).toEqual([0, 0])
    const paid = s.successes()
    expect(paid).toHaveLength(40)
    expect(new Set(paid.map((a) => `${a.key} ${a.body.max_tokens}`)).size).toBe(40) // each answer bought once
    const q = await runCli(["quota", "--store", back.url, "--format", "json"], { env: KEY })
    // a count the store made as it died, whose answer never came back (its request was not
    // sent), is taken back by the resume: the ledger equals what the provider saw
    expect(JSON.parse(q.stdout).free_used_today).toBe(s.log.length)
  })
})

describe("Redis settings that would lose the ledger", () => {
  it("no persistence, or an eviction policy that can evict it: the run says so before it sends", async () => {
    const s = await sim()
    const file = fanOut({ model: PAID, items: 1 })
    const run = (url: string) =>
      runCli(["run", file, "--base-url", s.url, "--store", url, "--out-dir", join(dirname(file), "runs")], {
        env: { TOLLGATE_HOME: tempHome() }
      })
    const bare = await run((await redisServer()).url)
    expect(bare.code).toBe(0)
    expect(bare.stderr).toContain("warning: the store keeps nothing on disk")
    expect(bare.stderr).not.toContain("maxmemory-policy")
    const lru = await run(
      (await redisServer({ args: ["--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"] })).url
    )
    expect(lru.stderr).toContain("warning: the store's maxmemory-policy is allkeys-lru")
    const durable = await run(
      (await redisServer({ aofDir: mkdtempSync(join(tmpdir(), "tg-aof-")), args: ["--maxmemory", "64mb"] }))
        .url
    )
    expect(durable.stderr).not.toContain("warning:")
  })
})
