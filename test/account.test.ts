/**
 * The account from the provider, with no `account:` block: `GET /key` (free tier, the key's own
 * cap), `GET /credits` with a management key (tier, balance), the tier learned from
 * `X-RateLimit-Limit`; each figure's source in the plan; nothing asked offline; a failure a warning.
 */
import { afterEach, describe, expect, it } from "vitest"
import { runCli, tempHome } from "./support/cli.ts"
import { writeDir } from "./support/pipelines.ts"
import { startRedis } from "./support/redis.ts"
import { simulatorPool } from "./support/simulator.ts"

const { sim, closeAll } = simulatorPool()
afterEach(closeAll)

const FREE = `version: 1
name: acct
limits: { free: { rpm: 6000 } }
inputs:
  xs: { type: array, default: [1, 2, 3] }
steps:
  - { id: a, for_each: inputs.xs, model: openai/gpt-oss-20b:free, prompt: "item {{ item }}", max_tokens: 5 }
`
const PAID = `version: 1
name: paid
steps:
  - { id: a, model: openai/gpt-4o-mini, prompt: "hello", max_tokens: 1000 }
`

const plan = async (yaml: string, url: string, env: Record<string, string>, home = tempHome()) => {
  const dir = writeDir({ "p.yaml": yaml })
  const r = await runCli(["plan", "p.yaml", "--base-url", url, "--format", "json"], {
    cwd: dir,
    env: { TOLLGATE_HOME: home, ...env }
  })
  return { ...r, json: r.stdout !== "" ? JSON.parse(r.stdout) : undefined, dir }
}

describe("the account from the provider", () => {
  it("a key the provider reports on the free tier plans at 50 a day, said to come from the provider", async () => {
    const s = await sim({ account: { isFreeTier: true } })
    const r = await plan(FREE, s.url, { OPENROUTER_API_KEY: "sk-user" })
    expect(r.code, r.stderr).toBe(0)
    expect(r.json.quota.free_per_day).toBe(50)
    expect(r.json.account.free_per_day).toEqual({ value: 50, source: "provider" })
    expect(s.accountCalls).toEqual(["GET /key"])
  })

  it("a management key reporting $10 or more of credits plans at 1,000 a day, with the balance for paid pacing", async () => {
    const s = await sim({ account: { managementKey: "sk-mgmt", totalCredits: 25, totalUsage: 5 } })
    const r = await plan(FREE, s.url, { OPENROUTER_API_KEY: "sk-user", OPENROUTER_MANAGEMENT_KEY: "sk-mgmt" })
    expect(r.code, r.stderr).toBe(0)
    expect(r.json.quota.free_per_day).toBe(1000)
    expect(r.json.account.credits_purchased_usd).toEqual({ value: 25, source: "provider" })
    expect(r.json.account.balance_usd).toEqual({ value: 20, source: "provider" })
    expect(r.stdout + r.stderr).not.toContain("sk-mgmt")
    expect(r.stdout + r.stderr).not.toContain("sk-user")
  })

  it("`account:` in the pipeline overrides what the provider says", async () => {
    const s = await sim({ account: { managementKey: "sk-mgmt", totalCredits: 25 } })
    const r = await plan(`${FREE}account: { credits_purchased_usd: 0 }\n`, s.url, {
      OPENROUTER_API_KEY: "sk-user",
      OPENROUTER_MANAGEMENT_KEY: "sk-mgmt"
    })
    expect(r.json.account.free_per_day).toEqual({ value: 50, source: "declared" })
  })

  it("a key whose limit_remaining is below the plan's max: exit 3 naming the key's cap", async () => {
    const s = await sim({ account: { keyLimit: 0.0002 } })
    const r = await plan(PAID, s.url, { OPENROUTER_API_KEY: "sk-user" })
    expect(r.code).toBe(3)
    const v = r.json.violations.find((x: { kind: string }) => x.kind === "key_limit")
    expect(v.message).toMatch(
      /exceeds what is left of the key's own limit at the provider: \$0\.0002 of \$0\.0002/
    )
    expect(r.json.account.key_limit_usd).toEqual({ limit: 0.0002, remaining: 0.0002, source: "provider" })
    // a run is refused the same way, and sends nothing
    const run = await runCli(["run", "p.yaml", "--base-url", s.url], {
      cwd: r.dir,
      env: { TOLLGATE_HOME: tempHome(), OPENROUTER_API_KEY: "sk-user" }
    })
    expect(run.code).toBe(3)
    expect(s.log).toHaveLength(0)
  })

  it("asked once: a second plan within minutes uses the state dir's copy", async () => {
    const s = await sim({ account: { isFreeTier: true } })
    const home = tempHome()
    await plan(FREE, s.url, { OPENROUTER_API_KEY: "sk-user" }, home)
    const again = await plan(FREE, s.url, { OPENROUTER_API_KEY: "sk-user" }, home)
    expect(again.json.account.free_per_day.source).toBe("provider")
    expect(s.accountCalls).toEqual(["GET /key"])
  })

  it("--offline and --echo never ask; no key, nothing asked; an unreachable /key is a warning", async () => {
    const s = await sim({ account: { isFreeTier: true } })
    const dir = writeDir({ "p.yaml": FREE })
    const env = { TOLLGATE_HOME: tempHome(), OPENROUTER_API_KEY: "sk-user" }
    await runCli(["run", "p.yaml", "--base-url", s.url, "--offline"], { cwd: dir, env })
    await runCli(["run", "p.yaml", "--echo"], { cwd: dir, env })
    await plan(FREE, s.url, {})
    expect(s.accountCalls).toEqual([])
    const down = await plan(FREE, "http://127.0.0.1:9/api/v1", { OPENROUTER_API_KEY: "sk-user" })
    expect(down.code).toBe(0)
    expect(down.stderr).toMatch(
      /^warning: could not read the key's limits from the provider \(.*\); using the declared or default figures$/m
    )
    expect(down.json.account.free_per_day).toEqual({ value: 50, source: "default" })
  })

  it("the management key goes only to OpenRouter or a --base-url the user gives, never to a pipeline's own base_url", async () => {
    const s = await sim({ account: { managementKey: "sk-mgmt", totalCredits: 25 } })
    const env = {
      TOLLGATE_HOME: tempHome(),
      OPENROUTER_API_KEY: "sk-user",
      OPENROUTER_MANAGEMENT_KEY: "sk-mgmt"
    }
    const dir = writeDir({ "p.yaml": `${FREE}provider: { base_url: "${s.url}" }\n` })
    const r = await runCli(["plan", "p.yaml", "--format", "json"], { cwd: dir, env })
    expect(r.code, r.stderr).toBe(0)
    // the pipeline alone names the host: neither key goes there, and the plan says why
    expect(s.accountCalls).toEqual([])
    expect(r.stderr).toContain("the account was not asked: the key in OPENROUTER_API_KEY goes only to")
    expect(JSON.parse(r.stdout).account.free_per_day.source).not.toBe("provider")
    const enforced = await runCli(["run", "p.yaml", "--enforce-budget", "provider", "--max-cost", "1"], {
      cwd: dir,
      env
    })
    expect(enforced.code).toBe(2)
    expect(enforced.stderr).toContain(
      "goes only to https://openrouter.ai or to a base URL you give (--base-url or TOLLGATE_BASE_URL)"
    )
    expect(s.minted).toHaveLength(0)
    expect(s.log).toHaveLength(0)
  })

  it("a copy made without the management key is asked again once one is set", async () => {
    const s = await sim({ account: { managementKey: "sk-mgmt", totalCredits: 25 } })
    const home = tempHome()
    await plan(FREE, s.url, { OPENROUTER_API_KEY: "sk-user" }, home)
    const r = await plan(
      FREE,
      s.url,
      { OPENROUTER_API_KEY: "sk-user", OPENROUTER_MANAGEMENT_KEY: "sk-mgmt" },
      home
    )
    expect(r.json.account.free_per_day).toEqual({ value: 1000, source: "provider" })
  })

  it("the tier a run learns from X-RateLimit-Limit on free-model replies is what the next plan uses", async () => {
    const s = await sim({ freeTierHeader: 1000 })
    const home = tempHome()
    const dir = writeDir({ "p.yaml": FREE })
    const env = { TOLLGATE_HOME: home, OPENROUTER_API_KEY: "sk-user" }
    const before = await plan(FREE, s.url, { OPENROUTER_API_KEY: "sk-user" }, home)
    expect(before.json.account.free_per_day).toEqual({ value: 50, source: "default" })
    const ran = await runCli(["run", "p.yaml", "--base-url", s.url], { cwd: dir, env })
    expect(ran.code, ran.stdout + ran.stderr).toBe(0)
    const after = await plan(FREE, s.url, { OPENROUTER_API_KEY: "sk-user" }, home)
    expect(after.json.account.free_per_day).toEqual({ value: 1000, source: "learned" })
  })

  it("on a shared store, the account is asked once for every machine, and a tier one machine's run learned is every machine's", async () => {
    const redis = await startRedis()
    try {
      const store = ["--store", redis.url]
      const s = await sim({ account: { isFreeTier: true } })
      const env = { OPENROUTER_API_KEY: "sk-user" }
      // machine A asks the provider; machine B (another state dir) finds the store's copy
      const planIn = async (home: string) => {
        const dir = writeDir({ "p.yaml": FREE })
        const r = await runCli(["plan", "p.yaml", "--base-url", s.url, "--format", "json", ...store], {
          cwd: dir,
          env: { TOLLGATE_HOME: home, ...env }
        })
        expect(r.code, r.stderr).toBe(0)
        return JSON.parse(r.stdout)
      }
      expect((await planIn(tempHome())).account.free_per_day).toEqual({ value: 50, source: "provider" })
      expect((await planIn(tempHome())).account.free_per_day).toEqual({ value: 50, source: "provider" })
      expect(s.accountCalls).toEqual(["GET /key"])
      // a run on machine C learns a tier of 1,000 from the replies; machine D's plan knows it
      const learning = await sim({ freeTierHeader: 1000 })
      const dir = writeDir({ "p.yaml": FREE })
      const ran = await runCli(["run", "p.yaml", "--base-url", learning.url, ...store], {
        cwd: dir,
        env: { TOLLGATE_HOME: tempHome(), ...env }
      })
      expect(ran.code, ran.stdout + ran.stderr).toBe(0)
      const d = writeDir({ "p.yaml": FREE })
      const after = await runCli(
        ["plan", "p.yaml", "--base-url", learning.url, "--format", "json", ...store],
        {
          cwd: d,
          env: { TOLLGATE_HOME: tempHome(), ...env }
        }
      )
      expect(JSON.parse(after.stdout).account.free_per_day).toEqual({ value: 1000, source: "learned" })
    } finally {
      redis.stop()
    }
  })
})
