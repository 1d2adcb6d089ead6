/** `runner run` end to end against the simulator: pacing, faults, stops, cache, resume, secrets. */
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { BIN, ROOT, runCli, tempHome } from "./support/cli.ts"
import { fanOut, texts } from "./support/pipelines.ts"
import { simulatorPool } from "./support/simulator.ts"

const { sim, closeAll } = simulatorPool()
afterEach(closeAll)

const run = (file: string, url: string, env: Record<string, string>, args: string[] = []) =>
  runCli(
    ["run", file, "--base-url", url, "--format", "json", "--out-dir", join(dirname(file), "runs"), ...args],
    { env, cwd: dirname(file) }
  )

const json = (stdout: string) => JSON.parse(stdout)

const FREE = "openai/gpt-oss-20b:free"
const PAID = "openai/gpt-4o-mini"

describe("runner run against the simulator", () => {
  it("a simulator stricter than the runner believes: every 429 waited out, run completes, attempts counted", async () => {
    const s = await sim({ rpm: { [FREE]: 4 }, windowMs: 1000 })
    const home = tempHome()
    const file = fanOut({
      model: FREE,
      items: 10,
      extra: "limits: { window: 1s, free: { rpm: 100 } }\naccount: { credits_purchased_usd: 10 }",
      stepExtra: "    retry: { max_attempts: 8 }"
    })
    const r = await run(file, s.url, { TOLLGATE_HOME: home })
    expect(r.code).toBe(0)
    const limited = s.log.filter((a) => a.status === 429)
    expect(limited.length).toBeGreaterThan(0)
    expect(s.successes()).toHaveLength(10)
    // each 429 was retried no sooner than its Retry-After (1 s) for that request
    for (const a of limited) {
      const next = s.log.find((b) => b.n > a.n && b.key === a.key)
      expect(next).toBeDefined()
      expect(next!.at - a.at).toBeGreaterThanOrEqual(950)
    }
    const summary = json(r.stdout)
    expect(summary.actual.rate_limited).toBe(limited.length)
    // every attempt, 429s included, is in the quota ledger
    const q = await runCli(["quota", "--format", "json"], { env: { TOLLGATE_HOME: home } })
    expect(json(q.stdout).free_used_today).toBe(s.log.length)
  })

  it("5xx and reset storms: the run completes with retries and nothing is billed twice", async () => {
    const s = await sim({ fault: (n) => (n % 3 === 0 ? "5xx" : n % 4 === 0 ? "reset" : undefined) })
    const file = fanOut({ model: PAID, items: 10, stepExtra: "    retry: { max_attempts: 6 }" })
    const r = await run(file, s.url, { TOLLGATE_HOME: tempHome() })
    expect(r.code).toBe(0)
    const ok = s.successes()
    expect(ok).toHaveLength(10)
    expect(new Set(ok.map((a) => a.key)).size).toBe(10)
    expect(s.log.some((a) => a.status === 502)).toBe(true)
    expect(s.log.some((a) => a.status === "reset")).toBe(true)
    const summary = json(r.stdout)
    expect(summary.actual.retries).toBe(s.log.length - 10)
    expect(summary.actual.cost_usd_exact).toBe((await import("@tollgate/pricing")).Money.toPlain(s.billed()))
  })

  it("402 mid-run: nothing new after the first 402 beyond what was in flight; exit 1 names credits; outputs saved", async () => {
    const s = await sim({ balanceUsd: 0.00005, latencyMs: 40 })
    const file = fanOut({ model: PAID, items: 30 })
    const r = await run(file, s.url, { TOLLGATE_HOME: tempHome() }, ["--concurrency", "3"])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/credits/)
    const first402 = s.log.findIndex((a) => a.status === 402)
    expect(first402).toBeGreaterThan(0)
    const after = s.log.slice(first402 + 1)
    expect(after.length).toBeLessThanOrEqual(2) // at most the other requests already in flight
    const summary = json(r.stdout)
    expect(summary.status).toBe("stopped")
    const runDir = summary.run.dir
    const lines = readFileSync(join(runDir, "steps", "each.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
    expect(lines.filter((l) => l.status === "ok")).toHaveLength(s.successes().length)
  })

  it("the daily free cap mid-run: not retried, exit 3 within the requests in flight, says when it resets", async () => {
    const s = await sim({ freePerDay: 5 })
    const file = fanOut({
      model: FREE,
      items: 12,
      extra: "limits: { free: { rpm: 6000 } }\naccount: { credits_purchased_usd: 10 }",
      stepExtra: "    retry: { max_attempts: 5 }"
    })
    const r = await run(file, s.url, { TOLLGATE_HOME: tempHome() }, ["--concurrency", "2"])
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/resets at \d{4}-\d\d-\d\dT00:00:00Z/)
    const capped = s.log.filter((a) => a.status === 429)
    expect(capped.length).toBeGreaterThanOrEqual(1)
    expect(capped.length).toBeLessThanOrEqual(2) // the one that hit the cap, and at most one in flight beside it
    for (const a of capped) expect(s.log.filter((b) => b.key === a.key && b.n > a.n)).toHaveLength(0)
  })

  it("a budget smaller than the run: stops with exit 3 and the simulator billed at most the budget; max ≥ billed", async () => {
    const s = await sim({ completionTokens: (b) => Number(b.max_tokens) })
    const file = fanOut({
      model: PAID,
      items: 20,
      maxTokens: 200,
      extra: "budget: { max_cost_usd: 0.002, gate: expected }"
    })
    const plan = json(
      (await runCli(["plan", file, "--format", "json"], { env: { TOLLGATE_HOME: tempHome() } })).stdout
    )
    const r = await run(file, s.url, { TOLLGATE_HOME: tempHome() }, ["--concurrency", "4"])
    expect(r.code).toBe(3)
    expect(s.successes().length).toBeGreaterThan(0)
    expect(s.successes().length).toBeLessThan(20)
    const { Money } = await import("@tollgate/pricing")
    expect(Money.lte(s.billed(), Money.usd("0.002"))).toBe(true)
    // each request billed at most what the plan's per-request bound says
    for (const a of s.successes())
      expect(Number(a.billed)).toBeLessThanOrEqual(plan.steps[0].max_request_cost_usd)
  })

  it("plan max is never below what a full run bills, fallback lists included", async () => {
    const s = await sim({ completionTokens: (b) => Number(b.max_tokens) })
    const home = tempHome()
    const plan = json(
      (
        await runCli(["plan", "examples/compare-models.yaml", "--format", "json"], {
          env: { TOLLGATE_HOME: home }
        })
      ).stdout
    )
    const r = await runCli(
      [
        "run",
        "examples/compare-models.yaml",
        "--base-url",
        s.url,
        "--format",
        "json",
        "--out-dir",
        join(home, "runs")
      ],
      {
        env: { TOLLGATE_HOME: home }
      }
    )
    expect(r.code).toBe(0)
    expect(Number((await import("@tollgate/pricing")).Money.toPlain(s.billed()))).toBeLessThanOrEqual(
      plan.cost_usd.max
    )
    expect(s.successes()).toHaveLength(plan.requests.max)
  })

  it("a second identical run sends nothing (cache), and --offline works from that cache", async () => {
    const s = await sim()
    const home = tempHome()
    const file = fanOut({ model: PAID, items: 5 })
    expect((await run(file, s.url, { TOLLGATE_HOME: home })).code).toBe(0)
    expect(s.log).toHaveLength(5)
    const again = await run(file, s.url, { TOLLGATE_HOME: home })
    expect(again.code).toBe(0)
    expect(s.log).toHaveLength(5)
    expect(json(again.stdout).actual).toMatchObject({ cached: 5, requests: 0, cost_usd: 0 })
    const offline = await run(file, s.url, { TOLLGATE_HOME: home }, ["--offline"])
    expect(offline.code).toBe(0)
    expect(s.log).toHaveLength(5)
    const miss = await run(fanOut({ model: PAID, items: 2, maxTokens: 51 }), s.url, { TOLLGATE_HOME: home }, [
      "--offline"
    ])
    expect(miss.code).toBe(2)
    expect(miss.stderr).toMatch(/not in the cache; nothing was sent/)
    expect(s.log).toHaveLength(5)
  })

  it("SIGINT mid-run, then run again: the simulator bills each distinct request once (cache off: the run's own records)", async () => {
    const s = await sim({ latencyMs: 150 })
    const home = tempHome()
    const file = fanOut({ model: PAID, items: 12 })
    const outDir = join(dirname(file), "runs")
    const args = ["run", file, "--base-url", s.url, "--no-cache", "--concurrency", "2", "--out-dir", outDir]
    const first = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? "", TOLLGATE_HOME: home },
        stdio: "ignore"
      })
      const timer = setInterval(() => {
        if (s.successes().length >= 4) {
          clearInterval(timer)
          child.kill("SIGINT")
        }
      }, 10)
      child.on("close", (code) => {
        clearInterval(timer)
        resolve(code)
      })
    })
    expect(first).toBe(130)
    const partial = s.successes().length
    expect(partial).toBeLessThan(12)
    const second = await runCli(args.concat(["--format", "json"]), { env: { TOLLGATE_HOME: home } })
    expect(second.code).toBe(0)
    const ok = s.successes()
    expect(ok).toHaveLength(12)
    expect(new Set(ok.map((a) => a.key)).size).toBe(12)
    expect(json(second.stdout).actual.reused).toBe(partial)
  })

  it("the API key appears in no output, log, error, cache file or run record, including after a 401", async () => {
    const key = "sk-or-v1-TOPSECRET-0123456789abcdef"
    const s = await sim({ apiKey: key })
    const home = tempHome()
    const file = fanOut({ model: PAID, items: 3, extra: "provider: { api_key_env: TG_TEST_API_KEY }" })
    const good = await run(file, s.url, { TOLLGATE_HOME: home, TG_TEST_API_KEY: key })
    expect(good.code).toBe(0)
    expect(s.log.every((a) => a.authorization === `Bearer ${key}`)).toBe(true)
    const bad = await run(
      fanOut({ model: PAID, items: 2, maxTokens: 51, extra: "provider: { api_key_env: TG_TEST_API_KEY }" }),
      s.url,
      {
        TOLLGATE_HOME: home,
        TG_TEST_API_KEY: `${key}-wrong`
      }
    )
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/API key was refused/)
    const all = [good.stdout, good.stderr, bad.stdout, bad.stderr, ...texts(home), ...texts(dirname(file))]
    for (const t of all) expect(t.includes(key)).toBe(false)
    expect(all.join("").includes("TOPSECRET")).toBe(false)
  })
})
