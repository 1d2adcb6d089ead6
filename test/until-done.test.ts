/**
 * A job bigger than a day's free quota: `runner run --until-done` waits for each reset and goes
 * on in the same run, and a stop during the wait resumes later, nothing paid or counted twice.
 * The runner runs on Effect's `TestClock`, which the test moves past 00:00 UTC, and the
 * simulator's day is rolled over, so nothing waits for a real midnight.
 */
import { afterEach, describe, expect, it } from "vitest"
import { runCli, tempHome } from "./support/cli.ts"
import { writeDir } from "./support/pipelines.ts"
import { until } from "./support/processes.ts"
import { type Simulator, simulatorPool } from "./support/simulator.ts"
import { runOnTestClock } from "./support/testClock.ts"

const { sim, closeAll } = simulatorPool()
afterEach(closeAll)

const job = (n: number) =>
  `version: 1\nname: days\naccount: { credits_purchased_usd: 0 }\nlimits: { free: { rpm: 6000 } }\ninputs:\n  xs: { type: array, default: [${Array.from({ length: n }, (_, i) => i).join(", ")}] }\nsteps:\n  - { id: a, for_each: inputs.xs, model: openai/gpt-oss-20b:free, prompt: "item {{ item }}", max_tokens: 5 }\n`

const billedOnce = (s: Simulator) => new Set(s.successes().map((a) => a.key)).size === s.successes().length

describe("runner run --until-done", () => {
  it("120 free requests at 50 a day: goes on after two resets; 120 billed, none twice, none refused for the cap", async () => {
    const s = await sim({ freePerDay: 50 })
    const dir = writeDir({ "days.yaml": job(120) })
    const r = runOnTestClock(["run", "days.yaml", "--base-url", s.url, "--until-done", "--out-dir", "runs"], {
      cwd: dir
    })
    for (const day of [1, 2]) {
      await until(() => r.waits().length === day, 30_000)
      expect(s.log).toHaveLength(50 * day) // the ledger knew: the 51st was never sent
      s.rollDay()
      r.jumpPast(r.waits()[day - 1]!)
    }
    expect((await r.done).code, r.stderr()).toBe(0)
    expect(s.successes()).toHaveLength(120)
    expect(s.log).toHaveLength(120) // no attempt refused for the daily cap
    expect(billedOnce(s)).toBe(true)
    expect(r.stderr()).toMatch(/free quota used up for today: waiting until \d{4}-\d\d-\d\dT00:01:00Z/)
  })

  it("Ctrl-C while waiting for the reset: exit 130; the next day's run goes on, nothing billed twice", async () => {
    const s = await sim({ freePerDay: 50 })
    const dir = writeDir({ "days.yaml": job(80) })
    const home = tempHome()
    const r = runOnTestClock(["run", "days.yaml", "--base-url", s.url, "--until-done", "--out-dir", "runs"], {
      cwd: dir,
      env: { TOLLGATE_HOME: home }
    })
    await until(() => r.waits().length === 1, 30_000)
    r.interrupt()
    expect((await r.done).code).toBe(130)
    expect(s.log).toHaveLength(50)
    s.rollDay()
    // the next day, without the flag: it resumes and finishes the other 30
    const next = await runOnTestClock(
      ["run", "days.yaml", "--base-url", s.url, "--out-dir", "runs", "--format", "json"],
      { cwd: dir, env: { TOLLGATE_HOME: home }, at: r.waits()[0]! + 2_000 }
    ).done
    expect(next.code, next.stderr).toBe(0)
    expect(JSON.parse(next.stdout).actual.reused).toBe(50)
    expect(s.successes()).toHaveLength(80)
    expect(billedOnce(s)).toBe(true)
  })

  it("without the flag, the stop at the cap says how to go on", async () => {
    const s = await sim({ freePerDay: 50 })
    const dir = writeDir({ "days.yaml": job(60) })
    const home = tempHome()
    // the plan refuses a job over today's quota; a run that met the cap mid-way says how to go on
    const gated = await runCli(["run", "days.yaml", "--base-url", s.url, "--out-dir", "runs"], {
      cwd: dir,
      env: { TOLLGATE_HOME: home }
    })
    expect(gated.code).toBe(3)
    expect(gated.stdout + gated.stderr).toContain("--until-done")
  })

  it("budget.max_free_requests is a share of each day: the plan spreads the job, --until-done waits for the next day", async () => {
    const s = await sim({ freePerDay: 1000 })
    const dir = writeDir({
      "days.yaml": job(50).replace(
        "account: { credits_purchased_usd: 0 }",
        "budget: { max_free_requests: 20 }"
      )
    })
    const home = tempHome()
    const plan = await runCli(["plan", "days.yaml", "--format", "json"], {
      cwd: dir,
      env: { TOLLGATE_HOME: home }
    })
    expect(JSON.parse(plan.stdout).quota.days.map((d: { free_requests: number }) => d.free_requests)).toEqual(
      [20, 20, 10]
    )
    // without the flag the plan's gate says how to go on
    const env = { TOLLGATE_HOME: home }
    const gated = await runCli(["run", "days.yaml", "--base-url", s.url, "--out-dir", "runs"], {
      cwd: dir,
      env
    })
    expect(gated.code).toBe(3)
    expect(gated.stdout + gated.stderr).toContain("--until-done")
    expect(s.log).toHaveLength(0)
    // 20 today, then a wait for tomorrow; stopped during the wait
    const args = ["run", "days.yaml", "--base-url", s.url, "--until-done", "--out-dir", "runs"]
    const first = runOnTestClock(args, { cwd: dir, env })
    await until(() => first.waits().length === 1, 30_000)
    expect(first.stderr()).toMatch(/max_free_requests \(20\) reached for today/)
    first.interrupt()
    expect((await first.done).code).toBe(130)
    expect(s.log).toHaveLength(20)
    // run again the same day: today's share is used, so it sends nothing and waits; then two more days
    const r = runOnTestClock(args, { cwd: dir, env })
    for (const day of [1, 2]) {
      await until(() => r.waits().length === day, 30_000)
      expect(s.log).toHaveLength(20 * day)
      r.jumpPast(r.waits()[day - 1]!)
    }
    expect((await r.done).code, r.stderr()).toBe(0)
    expect(s.successes()).toHaveLength(50)
    expect(billedOnce(s)).toBe(true)
  })

  it("the provider's replies name a higher free tier than the plan assumed: it plans again and goes on, no wait", async () => {
    const s = await sim({ freePerDay: 1000, freeTierHeader: 1000 })
    // no account: block, and a key the provider cannot place: the default, 50 a day
    const dir = writeDir({ "days.yaml": job(60).replace("account: { credits_purchased_usd: 0 }\n", "") })
    const r = await runCli(["run", "days.yaml", "--base-url", s.url, "--until-done", "--out-dir", "runs"], {
      cwd: dir,
      env: { TOLLGATE_HOME: tempHome(), OPENROUTER_API_KEY: "sk-test" }
    })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain("the provider's replies name 1000 free requests a day, not 50: going on now")
    expect(r.stderr).not.toContain("waiting until")
    expect(s.successes()).toHaveLength(60)
    expect(billedOnce(s)).toBe(true)
  })

  it("a job no number of days can finish (a daily quota of 0) is refused, not waited on forever", async () => {
    const s = await sim()
    const dir = writeDir({
      "days.yaml": job(3).replace(
        "limits: { free: { rpm: 6000 } }",
        "limits: { free: { rpm: 6000, per_day: 0 } }"
      )
    })
    const r = await runCli(["run", "days.yaml", "--base-url", s.url, "--until-done", "--out-dir", "runs"], {
      cwd: dir,
      env: { TOLLGATE_HOME: tempHome() }
    })
    expect(r.code).toBe(3)
    expect(r.stdout + r.stderr).toContain("they do not fit in a year of daily quotas")
    expect(s.log).toHaveLength(0)
  })
})
