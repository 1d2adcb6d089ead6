/**
 * OpenRouter's 2026 rules against a simulator that follows its docs: the in-flight spending
 * budget (402 by `metadata.reason`), budget layers (403 with `resets_at`), the account's free
 * counter on `/key`, and routing by effective cost bounded by `provider.max_price`.
 */

import { CatalogStore } from "@tollgate/core"
import { Catalog, Money } from "@tollgate/pricing"
import { afterEach, describe, expect, it } from "vitest"
import { runCli, tempHome } from "./support/cli.ts"
import { writeDir } from "./support/pipelines.ts"
import { until } from "./support/processes.ts"
import { type Simulator, simulatorPool } from "./support/simulator.ts"
import { runOnTestClock } from "./support/testClock.ts"

const { sim, closeAll } = simulatorPool()
afterEach(closeAll)

const ENV = { OPENROUTER_API_KEY: "sk-rules" }
const fan = (n: number, maxTokens = 1000, model = "openai/gpt-4o-mini", extra = "") =>
  `version: 1\nname: rules\n${extra}inputs:\n  xs: { type: array, default: [${Array.from({ length: n }, (_, i) => i).join(", ")}] }\nsteps:\n  - { id: each, for_each: inputs.xs, model: ${model}, prompt: "item {{ item }}", max_tokens: ${maxTokens} }\n`

const run = (dir: string, s: Simulator, extra: string[] = []) =>
  runCli(["run", "p.yaml", "--base-url", s.url, "--no-cache", "--out-dir", "runs", ...extra], {
    cwd: dir,
    env: { TOLLGATE_HOME: tempHome(), ...ENV }
  })

const refused = (s: Simulator, status: number) => s.log.filter((a) => a.status === status).length
const billedOnce = (s: Simulator) => new Set(s.successes().map((a) => a.key)).size === s.successes().length

/** One request's in-flight estimate at the simulator: prompt + max_tokens at gpt-4o-mini's price. */
const estimate = (maxTokens: number) => (12 * 0.15 + maxTokens * 0.6) / 1e6

describe("the in-flight spending budget", () => {
  it("room for about three requests, 30 items at concurrency 8: the run paces, finishes, bills each once", async () => {
    const s = await sim({ inFlightBudgetUsd: estimate(1000) * 3.2, latencyMs: 150 })
    const dir = writeDir({ "p.yaml": fan(30) })
    const r = await run(dir, s, ["--concurrency", "8"])
    expect(r.code, r.stderr).toBe(0)
    expect(s.successes()).toHaveLength(30)
    expect(billedOnce(s)).toBe(true)
    // the first burst teaches the budget; after it the run keeps what is in flight under it
    expect(refused(s, 402)).toBeLessThanOrEqual(8)
    expect(r.stdout + r.stderr).not.toMatch(/out of credits|add credits at/)
  })

  it("one request bigger than the whole budget: one attempt, exit 1 naming the step, max_tokens and what fits", async () => {
    const s = await sim({ inFlightBudgetUsd: estimate(1000) / 2 })
    const dir = writeDir({ "p.yaml": fan(3) })
    const r = await run(dir, s, ["--concurrency", "1"])
    expect(r.code).toBe(1)
    expect(s.log).toHaveLength(1)
    expect(r.stderr).toMatch(
      /step "each": a request with max_tokens 1000 is more than the provider's in-flight spending budget allows \(402: You requested up to \d+ tokens, but can only afford \d+.*\); max_tokens \d+ or less would fit/
    )
  })
})

describe("budget layers", () => {
  const resetsAt = () => new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, "Z")

  it("/key lists the layer: the plan gates on the tightest limit, naming it and its reset; nothing is sent", async () => {
    const at = resetsAt()
    const s = await sim({
      budgetLayer: {
        limitSource: "openrouter_workspace_budget",
        scope: "workspace",
        limitUsd: 0.0005,
        spendUsd: 0,
        resetsAt: at
      }
    })
    const dir = writeDir({ "p.yaml": fan(10, 200) })
    const r = await run(dir, s)
    expect(r.code).toBe(3)
    expect(r.stderr + r.stdout).toContain(
      `exceeds what is left of the provider's workspace budget: $0.0005 of $0.0005, until it resets at ${at}`
    )
    expect(s.log).toHaveLength(0)
  })

  it("a known balance is a gate too: a plan whose max passes it exits 3 naming the balance", async () => {
    const s = await sim({ account: { managementKey: "sk-mgmt", totalCredits: 0.001 } })
    const dir = writeDir({ "p.yaml": fan(10, 1000) })
    const r = await runCli(["plan", "p.yaml", "--base-url", s.url], {
      cwd: dir,
      env: { TOLLGATE_HOME: tempHome(), ...ENV, OPENROUTER_MANAGEMENT_KEY: "sk-mgmt" }
    })
    expect(r.code).toBe(3)
    expect(r.stdout).toMatch(
      /maximum cost \$[\d.]+ exceeds what is left of the account's balance: \$0\.001; add credits/
    )
  })

  it("a 403 with limit_source and resets_at mid-run stops it: exit 3 naming the layer and when it resets", async () => {
    // the plan expects half of max_tokens and fits; the replies use all of it and pass the layer
    const s = await sim({
      completionTokens: (b) => Number(b.max_tokens),
      budgetLayer: {
        limitSource: "openrouter_workspace_budget",
        scope: "workspace",
        limitUsd: 0.0008,
        spendUsd: 0,
        resetsAt: resetsAt()
      }
    })
    const dir = writeDir({ "p.yaml": fan(10, 200, "openai/gpt-4o-mini", "budget: { gate: expected }\n") })
    const r = await run(dir, s, ["--concurrency", "1"])
    expect(r.code, r.stderr).toBe(3)
    expect(refused(s, 403)).toBe(1)
    expect(r.stderr).toMatch(
      /the provider's workspace budget is spent \(\$[\d.]+ spent of \$0\.0008, workspace\)/
    )
    expect(r.stderr).toMatch(/it resets at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in (0h 59m|1h 0m)\)/)
  })

  it("--until-done waits for resets_at and goes on, each item billed once", async () => {
    const at = resetsAt()
    const s = await sim({
      completionTokens: (b) => Number(b.max_tokens),
      budgetLayer: {
        limitSource: "openrouter_guardrail_budget",
        scope: "api_key",
        limitUsd: 0.0006,
        spendUsd: 0,
        resetsAt: at
      }
    })
    const dir = writeDir({ "p.yaml": fan(8, 200, "openai/gpt-4o-mini", "budget: { gate: expected }\n") })
    const r = runOnTestClock(
      [
        "run",
        "p.yaml",
        "--base-url",
        s.url,
        "--no-cache",
        "--concurrency",
        "1",
        "--until-done",
        "--out-dir",
        "runs"
      ],
      { cwd: dir }
    )
    await until(() => r.waits().length === 1, 30_000)
    expect(r.stderr()).toMatch(/a provider budget is spent: waiting until/)
    const first = s.successes().length
    expect(first).toBeLessThan(8)
    s.rollBudget()
    r.jumpPast(r.waits()[0]!)
    expect((await r.done).code, r.stderr()).toBe(0)
    expect(s.successes()).toHaveLength(8)
    expect(billedOnce(s)).toBe(true)
  })
})

describe("the account's free counter on /key", () => {
  const FREE = "openai/gpt-oss-20b:free"
  const free = (n: number) => fan(n, 5, FREE, "limits: { free: { rpm: 6000 } }\n")

  it("45 of 50 used elsewhere today: plan and quota say 5 left, from the provider", async () => {
    const s = await sim({ freePerDay: 50, freeUsedElsewhere: 45 })
    const dir = writeDir({ "p.yaml": free(8) })
    const env = { TOLLGATE_HOME: tempHome(), ...ENV }
    const plan = await runCli(["plan", "p.yaml", "--base-url", s.url, "--format", "json"], { cwd: dir, env })
    expect(plan.code).toBe(3)
    const json = JSON.parse(plan.stdout)
    expect(json.quota).toMatchObject({ free_per_day: 50, free_used_today: 45, free_left_today: 5 })
    expect(json.account.free_per_day).toEqual({ value: 50, source: "provider" })
    expect(json.account.free_used_today).toEqual({ value: 45, source: "provider" })
    const quota = await runCli(["quota", "p.yaml"], { cwd: dir, env: { ...env, TOLLGATE_BASE_URL: s.url } })
    expect(quota.stdout).toMatch(/45 used \(provider\), 5 left of 50/)
    // an endpoint that is not OpenRouter is asked nothing, by quota either
    const calls = s.accountCalls.length
    const other = writeDir({ "p.yaml": free(8).replace("limits:", "provider: { kind: openai }\nlimits:") })
    await runCli(["quota", "p.yaml"], { cwd: other, env: { ...env, TOLLGATE_BASE_URL: s.url } })
    expect(s.accountCalls).toHaveLength(calls)
    expect(s.log).toHaveLength(0)
  })

  it("a run never sends a free attempt the provider's count says is doomed: 5 sent, none refused, then it waits", async () => {
    const s = await sim({ freePerDay: 50, freeUsedElsewhere: 45 })
    const dir = writeDir({ "p.yaml": free(8) })
    const r = runOnTestClock(
      ["run", "p.yaml", "--base-url", s.url, "--no-cache", "--until-done", "--out-dir", "runs"],
      { cwd: dir, env: ENV }
    )
    await until(() => r.waits().length === 1, 30_000)
    expect(s.log).toHaveLength(5)
    expect(refused(s, 429)).toBe(0)
    r.interrupt()
    expect((await r.done).code).toBe(130)
  })
})

describe("a daily free cap the policy does not know", () => {
  it("the cap's own 429 names 15 a day: learned, so the next day's plan and run stop at 15 with no refusal", async () => {
    const s = await sim({ freePerDay: 15 })
    const job = fan(40, 5, "openai/gpt-oss-20b:free", "limits: { free: { rpm: 6000 } }\n")
    const dir = writeDir({ "p.yaml": job })
    const home = tempHome()
    const r = runOnTestClock(
      ["run", "p.yaml", "--base-url", s.url, "--no-cache", "--until-done", "--out-dir", "runs"],
      { cwd: dir, env: { TOLLGATE_HOME: home, ...ENV } }
    )
    await until(() => r.waits().length === 1, 30_000)
    // the first day meets the cap (the requests in flight beside the first refusal with it), and learns it
    const firstDay = refused(s, 429)
    expect(firstDay).toBeGreaterThanOrEqual(1)
    expect(firstDay).toBeLessThanOrEqual(8)
    s.rollDay()
    r.jumpPast(r.waits()[0]!)
    await until(() => r.waits().length === 2, 30_000)
    expect(refused(s, 429)).toBe(firstDay) // the second day stops at 15 by itself
    expect(s.successes()).toHaveLength(30)
    r.interrupt()
    expect((await r.done).code).toBe(130)
    const plan = await runCli(
      ["plan", "p.yaml", "--base-url", s.url, "--out-dir", "runs", "--format", "json"],
      {
        cwd: dir,
        env: { TOLLGATE_HOME: home, ...ENV }
      }
    )
    expect(JSON.parse(plan.stdout).account.free_per_day).toEqual({ value: 15, source: "learned" })
  })
})

describe("the plan's prices are a contract", () => {
  it("routing by effective cost bills 1.5× list by default; requests carry max_price at the plan's prices, so the bill is the plan's", async () => {
    const marked = await sim({ routeMarkup: 1.5 })
    const plain = await sim()
    const billed: string[] = []
    for (const s of [marked, plain]) {
      const dir = writeDir({ "p.yaml": fan(20, 100) })
      const r = await run(dir, s)
      expect(r.code, r.stderr).toBe(0)
      billed.push(Money.toPlain(s.billed()))
    }
    expect(billed[0]).toBe(billed[1])
    // gpt-4o-mini lists $0.15 and $0.60 per million tokens
    for (const a of marked.log)
      expect(a.body.provider).toEqual({ max_price: { prompt: 0.15, completion: 0.6 } })
  })

  it("provider.routing.price_markup widens max_price and the plan prices it; preferences go as OpenRouter takes them", async () => {
    const s = await sim({ routeMarkup: 1.5, completionTokens: (b) => Number(b.max_tokens) })
    const routing =
      "provider: { routing: { price_markup: 0.5, data_collection: deny, zdr: true, sort: throughput } }\n"
    const dir = writeDir({ "p.yaml": fan(5, 100, "openai/gpt-4o-mini", routing) })
    const base = writeDir({ "p.yaml": fan(5, 100) })
    const env = { TOLLGATE_HOME: tempHome(), ...ENV }
    const planOf = async (d: string) =>
      JSON.parse((await runCli(["plan", "p.yaml", "--format", "json"], { cwd: d, env })).stdout)
    const [marked, listed] = [await planOf(dir), await planOf(base)]
    expect(marked.cost_usd.max).toBeCloseTo(listed.cost_usd.max * 1.5, 12)
    const r = await run(dir, s)
    expect(r.code, r.stderr).toBe(0)
    expect(s.log[0]!.body.provider).toEqual({
      data_collection: "deny",
      zdr: true,
      sort: "throughput",
      max_price: { prompt: 0.225, completion: 0.9 }
    })
    expect(Money.toNumber(s.billed())).toBeLessThanOrEqual(marked.cost_usd.max)
  })

  it("no endpoint at or under the plan's prices: the request fails naming max_price (exit 1)", async () => {
    // every endpoint of the model now lists twice the prompt price the plan used
    const bundled = CatalogStore.bundled()
    const dearer = new Catalog.Catalog(
      bundled.models.map((m) =>
        m.id === "openai/gpt-4o-mini" ? { ...m, rates: { ...m.rates, prompt: Money.usd("0.0000003") } } : m
      ),
      [],
      bundled.source
    )
    const s = await sim({ catalog: dearer })
    const dir = writeDir({ "p.yaml": fan(1, 100) })
    const r = await run(dir, s)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(
      "no endpoint serves this request at or under the plan's prices (max_price $0.15/M prompt"
    )
    expect(s.successes()).toHaveLength(0)
  })
})

describe("provider.kind: openai", () => {
  it("a strict OpenAI-compatible server gets only OpenAI's fields, and no account call", async () => {
    const s = await sim({ strict: true })
    const dir = writeDir({ "p.yaml": fan(3, 50, "openai/gpt-4o-mini", "provider: { kind: openai }\n") })
    const r = await run(dir, s)
    expect(r.code, r.stderr).toBe(0)
    expect(s.successes()).toHaveLength(3)
    expect(s.accountCalls).toEqual([])
    for (const a of s.log) expect(Object.keys(a.body).sort()).toEqual(["max_tokens", "messages", "model"])
  })

  it("the same pipeline as OpenRouter's is refused by the strict server; --provider-kind openai fixes it", async () => {
    const s = await sim({ strict: true })
    const dir = writeDir({ "p.yaml": fan(1, 50) })
    const refusedRun = await run(dir, s)
    expect(refusedRun.code).toBe(1)
    expect(refusedRun.stderr).toMatch(/Unrecognized request argument supplied: usage, provider/)
    const fixed = await run(dir, s, ["--provider-kind", "openai"])
    expect(fixed.code, fixed.stderr).toBe(0)
  })
})

describe("learning a limit nobody stated", () => {
  it("a paid model with no configured limit, a provider allowing 3 a second: the run learns a window and finishes", async () => {
    const s = await sim({ rpm: { "openai/gpt-4o-mini": 3 }, windowMs: 1000, unstatedLimit: true })
    const dir = writeDir({ "p.yaml": fan(12, 5) })
    const r = await run(dir, s, ["--concurrency", "8"])
    expect(r.code, r.stderr).toBe(0)
    expect(s.successes()).toHaveLength(12)
    expect(billedOnce(s)).toBe(true)
    // the first burst of 8 meets the limit (5 refused); after it, the learned window lets few more
    // be refused (without it, every retry went at once: 17 refused for 12 answers). The windows are
    // 1 s of real time: on a loaded two-core machine a late send can meet one more refusal
    expect(refused(s, 429)).toBeLessThanOrEqual(11)
  })
})
