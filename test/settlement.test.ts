/**
 * Cost truth: a run's paid answers settled against the provider's bill (`/generation`, which
 * lags its answers), `runner reconcile` settling later what was not ready, and the budget
 * counting the larger of reply and bill.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { Money } from "@tollgate/pricing"
import { afterEach, describe, expect, it } from "vitest"
import { runCli, tempHome } from "./support/cli.ts"
import { writeDir } from "./support/pipelines.ts"
import { type Simulator, simulatorPool } from "./support/simulator.ts"

const { sim, closeAll } = simulatorPool()
afterEach(closeAll)

const KEY = "sk-or-settle-secret-7f3a"
const ENV = { OPENROUTER_API_KEY: KEY }
const fan = (n: number, model = "openai/gpt-4o-mini") =>
  `version: 1\nname: settle\ninputs:\n  xs: { type: array, default: [${Array.from({ length: n }, (_, i) => i).join(", ")}] }\nsteps:\n  - { id: each, for_each: inputs.xs, model: ${model}, prompt: "item {{ item }}", max_tokens: 200 }\n`

const run = (dir: string, s: Simulator, extra: string[] = [], home = tempHome()) =>
  runCli(
    ["run", "p.yaml", "--base-url", s.url, "--no-cache", "--out-dir", "runs", "--settle", "on", ...extra],
    {
      cwd: dir,
      env: { TOLLGATE_HOME: home, ...ENV }
    }
  )

const runDir = (dir: string) => {
  const [id] = readdirSync(join(dir, "runs")).filter((n) => !n.startsWith("."))
  return join(dir, "runs", id!)
}
const summaryOf = (dir: string) => JSON.parse(readFileSync(join(runDir(dir), "summary.json"), "utf8"))

describe("settlement against the provider's bill", () => {
  it("every paid answer settled after its lag: the bill to the nano-dollar, the drift, both figures in the records", async () => {
    // the provider bills 7% over what its replies said, and records each bill 1.2 s after the answer
    const s = await sim({ generation: { lagMs: 1_200, drift: () => 0.07 } })
    const dir = writeDir({ "p.yaml": fan(12) })
    const r = await run(dir, s)
    expect(r.code, r.stderr).toBe(0)
    const summary = summaryOf(dir)
    const settlement = summary.actual.settlement
    expect(settlement.settled).toBe(12)
    expect(settlement.requests).toBe(12)
    // to the nano-dollar: the bill as the provider tells it, and the replies as they said
    expect(settlement.settled_usd).toBe(Money.toPlain(s.settledBill()))
    expect(settlement.reply_usd).toBe(Money.toPlain(s.billed()))
    expect(settlement.drift_pct).toBeCloseTo(7, 0)
    // the run's cost counts each request at the larger figure: the bill
    expect(summary.actual.cost_usd_exact).toBe(Money.toPlain(s.settledBill()))
    expect(summary.steps[0].actual.settlement.settled).toBe(12)
    expect(r.stdout).toMatch(
      /settled against the provider: 12 of 12 requests, drift \+\$[\d.]+ \(\+7(\.\d+)?%\)/
    )
    const lines = readFileSync(join(runDir(dir), "settlements.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
    expect(lines).toHaveLength(12)
    for (const l of lines) {
      expect(l.generation_id).toMatch(/^gen-\d+$/)
      expect(Money.gt(Money.usd(l.settled_cost_usd), Money.usd(l.reply_cost_usd))).toBe(true)
    }
    // asked at the end, never among the run's requests; the key never written down
    const firstAsk = s.generationCalls.length
    expect(firstAsk).toBeGreaterThanOrEqual(12)
    for (const f of readdirSync(runDir(dir))) {
      const p = join(runDir(dir), f)
      if (f !== "steps") expect(readFileSync(p, "utf8")).not.toContain(KEY)
    }
    expect(r.stdout + r.stderr).not.toContain(KEY)
  })

  it("bills not ready by the time limit are labelled; runner reconcile settles them later, and only them", async () => {
    const s = await sim({ generation: { lagMs: 3_000, drift: (n) => (n % 2 === 0 ? 0.1 : -0.05) } })
    const dir = writeDir({ "p.yaml": fan(6) })
    const r = await run(dir, s, ["--settle-timeout", "1s"])
    expect(r.code, r.stderr).toBe(0)
    const before = summaryOf(dir).actual.settlement
    expect(before.settled).toBe(0)
    expect(before.unsettled).toBe(6)
    expect(r.stdout).toMatch(/settled against the provider: 0 of 6 requests.*6 unsettled.*runner reconcile/)
    await new Promise((ok) => setTimeout(ok, 2_500))
    const rec = await runCli(
      ["reconcile", join("runs", runDir(dir).split("/").pop()!), "--base-url", s.url, "--format", "json"],
      {
        cwd: dir,
        env: ENV
      }
    )
    expect(rec.code, rec.stderr).toBe(0)
    const out = JSON.parse(rec.stdout)
    expect(out.newly_settled).toBe(6)
    expect(out.settlement.settled_usd).toBe(Money.toPlain(s.settledBill()))
    // the summary now counts each request at the larger of reply and bill
    const after = summaryOf(dir)
    expect(after.actual.settlement.settled).toBe(6)
    const larger = s
      .successes()
      .map((a) => a.billed)
      .map((reply, i) => {
        const n = s.successes()[i]!.n
        const bill = Money.fromNumber(Number((Number(reply) * (1 + (n % 2 === 0 ? 0.1 : -0.05))).toFixed(12)))
        return Money.max(Money.usd(reply), bill)
      })
    expect(after.actual.cost_usd_exact).toBe(Money.toPlain(Money.sum(larger)))
    // a second reconcile asks nothing and rewrites nothing
    const asked = s.generationCalls.length
    const settled = readFileSync(join(runDir(dir), "settlements.jsonl"), "utf8")
    const again = await runCli(["reconcile", runDir(dir), "--base-url", s.url], { cwd: dir, env: ENV })
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout).toContain("settled against the provider: 6 of 6 requests")
    expect(again.stdout).toContain("newly settled: 0")
    expect(s.generationCalls.length).toBe(asked)
    expect(readFileSync(join(runDir(dir), "settlements.jsonl"), "utf8")).toBe(settled)
  })

  it("free answers have no bill to check: nothing is asked", async () => {
    const s = await sim({})
    const dir = writeDir({ "p.yaml": fan(3, "openai/gpt-oss-20b:free") })
    const r = await run(dir, s)
    expect(r.code, r.stderr).toBe(0)
    expect(s.generationCalls).toHaveLength(0)
    expect(summaryOf(dir).actual.settlement.requests).toBe(0)
  })

  it("a key that may not read bills: a warning, the run's own figures stand; reconcile exits 1", async () => {
    const s = await sim({ generation: { status: 403 } })
    const dir = writeDir({ "p.yaml": fan(2) })
    const r = await run(dir, s)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/could not settle against the provider's bill: .*HTTP 403/)
    expect(summaryOf(dir).actual.cost_usd_exact).toBe(Money.toPlain(s.billed()))
    const rec = await runCli(["reconcile", runDir(dir), "--base-url", s.url], { cwd: dir, env: ENV })
    expect(rec.code).toBe(1)
    expect(rec.stdout + rec.stderr).not.toContain(KEY)
  })

  it("settle auto asks only openrouter.ai; off asks nothing; reconcile refuses a dir that is not a run", async () => {
    const s = await sim({})
    const dir = writeDir({ "p.yaml": fan(2) })
    const auto = await runCli(["run", "p.yaml", "--base-url", s.url, "--no-cache", "--out-dir", "runs"], {
      cwd: dir,
      env: { TOLLGATE_HOME: tempHome(), ...ENV }
    })
    expect(auto.code, auto.stderr).toBe(0)
    expect(s.generationCalls).toHaveLength(0)
    expect(summaryOf(dir).actual.settlement).toBeUndefined()
    const bad = await runCli(["reconcile", "nowhere"], { cwd: dir, env: ENV })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain("nowhere: not a run directory (no run.json)")
    expect(existsSync(join(dir, "nowhere"))).toBe(false)
  })
})
