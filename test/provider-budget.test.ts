/**
 * `budget.enforce: provider`: the run mints a key capped at its budget, sends every request with
 * it, and deletes it after the run (after SIGINT too); killed with SIGKILL, the cap still holds at
 * the provider. The minted key is never printed or written.
 */
import { afterEach, describe, expect, it } from "vitest"
import { runCli, tempHome } from "./support/cli.ts"
import { texts, writeDir } from "./support/pipelines.ts"
import { start, until } from "./support/processes.ts"
import { simulatorPool } from "./support/simulator.ts"

const { sim, closeAll } = simulatorPool()
afterEach(closeAll)

const pipeline = (n: number) => `version: 1
name: capped
budget: { max_cost_usd: 0.01, enforce: provider }
limits: { concurrency: 2 }
inputs:
  xs: { type: array, default: [${Array.from({ length: n }, (_, i) => i).join(", ")}] }
steps:
  - { id: a, for_each: inputs.xs, model: openai/gpt-4o-mini, prompt: "item {{ item }}", max_tokens: 20 }
`

const ENV = { OPENROUTER_API_KEY: "sk-user-key", OPENROUTER_MANAGEMENT_KEY: "sk-mgmt-key" }
// credits bought, so the balance (now a plan gate) covers the runs
const account = { managementKey: "sk-mgmt-key", totalCredits: 25 }

describe("budget.enforce: provider", () => {
  it("mints a key with the run's cap, sends every request with it, deletes it after the run, never shows it", async () => {
    const s = await sim({ account })
    const dir = writeDir({ "p.yaml": pipeline(5) })
    const r = await runCli(["run", "p.yaml", "--base-url", s.url, "--out-dir", "runs"], {
      cwd: dir,
      env: { TOLLGATE_HOME: tempHome(), ...ENV }
    })
    expect(r.code, r.stderr).toBe(0)
    expect(s.minted).toHaveLength(1)
    const k = s.minted[0]!
    expect(k.limit).toBe(0.01)
    expect(Date.parse(k.expiresAt!)).toBeGreaterThan(Date.now())
    expect(s.log).toHaveLength(5)
    expect(s.log.every((a) => a.authorization === `Bearer ${k.key}`)).toBe(true)
    expect(k.deleted).toBe(true)
    for (const t of [r.stdout, r.stderr, ...texts(dir)]) {
      expect(t).not.toContain(k.key)
      expect(t).not.toContain("sk-mgmt-key")
    }
  })

  it("the flag turns it on; without a management key it refuses, sending nothing", async () => {
    const s = await sim({ account })
    const dir = writeDir({ "p.yaml": pipeline(2).replace(", enforce: provider", "") })
    const env = { TOLLGATE_HOME: tempHome(), OPENROUTER_API_KEY: "sk-user-key" }
    const refused = await runCli(["run", "p.yaml", "--base-url", s.url, "--enforce-budget", "provider"], {
      cwd: dir,
      env
    })
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain("needs a management key in OPENROUTER_MANAGEMENT_KEY")
    expect(s.log).toHaveLength(0)
    const ok = await runCli(["run", "p.yaml", "--base-url", s.url, "--enforce-budget", "provider"], {
      cwd: dir,
      env: { ...env, ...ENV }
    })
    expect(ok.code, ok.stderr).toBe(0)
    expect(s.minted).toHaveLength(1)
    expect(s.minted[0]!.deleted).toBe(true)
  })

  it.each(["ignores-limit", "crlf-key"] as const)(
    "a mint reply that does not show the cap (%s) is refused: exit 1, nothing sent, the key deleted",
    async (mint) => {
      const s = await sim({ account: { ...account, mint } })
      const dir = writeDir({ "p.yaml": pipeline(2) })
      const r = await runCli(["run", "p.yaml", "--base-url", s.url], {
        cwd: dir,
        env: { TOLLGATE_HOME: tempHome(), ...ENV }
      })
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(
        mint === "ignores-limit"
          ? /could not mint the run's capped key: the provider answered without the key's limit/
          : /could not mint the run's capped key: the minted key has characters a bearer token cannot have/
      )
      expect(s.log).toHaveLength(0)
      expect(s.minted).toHaveLength(1)
      expect(s.minted[0]!.deleted).toBe(true)
    }
  )

  it("SIGINT: the run stops, and its key is deleted", async () => {
    const s = await sim({ account, latencyMs: 150 })
    const dir = writeDir({ "p.yaml": pipeline(40) })
    const p = start(["run", "p.yaml", "--base-url", s.url], dir, { TOLLGATE_HOME: tempHome(), ...ENV })
    await until(() => s.log.length >= 3)
    p.child.kill("SIGINT")
    expect(await p.done).toBe(130)
    expect(s.minted).toHaveLength(1)
    expect(s.minted[0]!.deleted).toBe(true)
    expect(s.log.length).toBeLessThan(40)
  })

  it("SIGKILL: the key is left, and the provider still holds the run to its cap", async () => {
    const s = await sim({ account, latencyMs: 150 })
    const dir = writeDir({ "p.yaml": pipeline(40) })
    const p = start(["run", "p.yaml", "--base-url", s.url], dir, { TOLLGATE_HOME: tempHome(), ...ENV })
    await until(() => s.log.length >= 3)
    p.child.kill("SIGKILL")
    await p.done
    const k = s.minted[0]!
    expect(k.deleted).toBe(false)
    expect(Date.parse(k.expiresAt!)).toBeLessThanOrEqual(Date.now() + 24 * 3_600_000)
    // whatever goes on with the leaked key (a runaway process, another tool), the provider stops it at the cap
    let refused = false
    for (let i = 0; i < 500 && !refused; i++) {
      const res = await fetch(`${s.url}/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${k.key}`, "content-type": "application/json" },
        body: JSON.stringify({
          model: "openai/gpt-4o-mini",
          messages: [{ role: "user", content: "word ".repeat(40_000) }],
          max_tokens: 2000
        })
      })
      refused = res.status === 402
    }
    expect(refused).toBe(true)
    expect(k.usage).toBeLessThanOrEqual(0.01)
  })
})
