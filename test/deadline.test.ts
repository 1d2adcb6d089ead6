/**
 * Free first, then paid for what the deadline needs (`overflow:`, `deadline:`): the plan places
 * every item (free on a day before the deadline, or paid) and prices the paid part against the
 * budget; the run follows it, falls back to the paid model when the free one is gone, goes back
 * to free after the daily reset, and never sends an item twice. A run that waits for the reset
 * runs on Effect's `TestClock`, which the test moves past midnight; the simulator's day is rolled over.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import * as Policy from "@tollgate/pricing/Policy"
import { afterEach, describe, expect, it } from "vitest"
import { runCli, tempHome } from "./support/cli.ts"
import { writeDir } from "./support/pipelines.ts"
import { until } from "./support/processes.ts"
import { simulatorPool } from "./support/simulator.ts"
import { runOnTestClock } from "./support/testClock.ts"

const { sim, closeAll } = simulatorPool()
afterEach(closeAll)

const FREE = "openai/gpt-oss-20b:free"
const PAID = "openai/gpt-oss-20b"
/** Tomorrow 09:00 UTC, as the example. */
const tomorrowNine = () =>
  new Date(Policy.nextUtcMidnight(new Date()).getTime() + 9 * 3_600_000).toISOString()

const job = (o: {
  items: number
  perDay: number
  budget: string
  deadline?: string
  extra?: string
  rpm?: number
}) =>
  writeDir(
    {
      "items.jsonl": `${Array.from({ length: o.items }, (_, i) => JSON.stringify({ text: `ticket ${i}` })).join("\n")}\n`,
      "p.yaml": [
        "version: 1",
        "name: by-morning",
        `deadline: "${o.deadline ?? tomorrowNine()}"`,
        `budget: { max_cost_usd: ${o.budget} }`,
        `limits: { free: { per_day: ${o.perDay}, rpm: ${o.rpm ?? 6000} } }`,
        "inputs:",
        "  tickets: { type: array, from: items.jsonl }",
        "steps:",
        "  - id: label",
        "    for_each: inputs.tickets",
        `    model: ${FREE}`,
        "    overflow: {}",
        '    prompt: "Label this ticket: {{ item.text }}"',
        "    max_tokens: 20",
        o.extra ?? "",
        ""
      ].join("\n")
    },
    "tg-deadline-"
  )

const ENV = () => ({ TOLLGATE_HOME: tempHome(), OPENROUTER_API_KEY: "sk-or-v1-deadline" })

/** `runner run p.yaml` against the simulator, records under runs/, JSON out. */
const runJob = (dir: string, url: string, more: string[] = [], env = ENV()) =>
  runCli(
    ["run", "p.yaml", "--base-url", url, "--out-dir", "runs", "--settle", "off", "--format", "json", ...more],
    {
      cwd: dir,
      env
    }
  )

const records = (dir: string) => {
  const runs = join(dir, "runs")
  const run = readdirSync(runs).find((n) => !n.startsWith("."))!
  return readFileSync(join(runs, run, "steps", "label.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { index: number; route?: string; model?: string; overflow_reason?: string })
}

describe("free first, paid for what the deadline needs", () => {
  it("plan: 600 items at 50 a day by tomorrow 09:00 — 100 free over two days, 500 on the paid model, priced, within the budget; the alternatives side by side", async () => {
    // OpenRouter's free rate limit: 20 a minute
    const dir = job({ items: 600, perDay: 50, budget: "0.5", rpm: 20 })
    const r = await runCli(["plan", "p.yaml", "--format", "json"], { cwd: dir })
    expect(r.code, r.stderr).toBe(0)
    const plan = JSON.parse(r.stdout)
    const [step] = plan.deadline.steps
    expect(step).toMatchObject({ id: "label", free_model: FREE, paid_model: PAID, requests: 600 })
    // today's 50 (unless the rate limit cannot reach them before midnight) and tomorrow's 50
    expect(step.free_requests).toBeLessThanOrEqual(100)
    expect(step.free_requests).toBeGreaterThanOrEqual(50)
    expect(step.free_requests + step.paid_requests).toBe(600)
    expect(step.free_by_day.map((d: { free_requests: number }) => d.free_requests).at(-1)).toBe(50)
    // the paid part is in the plan's cost, and within the budget
    expect(step.paid_cost_usd.expected).toBeGreaterThan(0)
    expect(plan.cost_usd.expected).toBeCloseTo(step.paid_cost_usd.expected, 9)
    expect(plan.cost_usd.max).toBeLessThanOrEqual(0.5)
    expect(plan.free_requests).toBe(step.free_requests)
    // the least time paces only the free part at 20 a minute (all 600 free would take 30 minutes)
    expect(plan.min_duration_s).toBeLessThan(6 * 60)
    const alt = plan.deadline.alternatives
    expect(alt.free_only).toMatchObject({ days: 12, meets_deadline: false })
    expect(alt.all_paid.cost_usd.expected).toBeGreaterThan(alt.with_overflow.cost_usd.expected)

    const table = await runCli(["plan", "p.yaml"], { cwd: dir })
    expect(table.stdout).toMatch(
      /label: \d+ free on \d{4}-\d\d-\d\d, 50 free on \d{4}-\d\d-\d\d, \d+ on openai\/gpt-oss-20b \(paid\)/
    )
    expect(table.stdout).toContain("free only: 12 days")
    const md = await runCli(["plan", "p.yaml", "--format", "markdown"], { cwd: dir })
    expect(md.stdout).toContain("- deadline ")
    // the HTML report of the plan draws the alternatives and lists where each request goes
    await runCli(["plan", "p.yaml", "--out", "plan.json"], { cwd: dir })
    const page = await runCli(["report", "plan.json", "--out", "-"], { cwd: dir })
    expect(page.stdout).toContain('id="deadline-chart"')
    expect(page.stdout).toMatch(
      /<td>label<\/td><td>\d+ on \d{4}-\d\d-\d\d, 50 on \d{4}-\d\d-\d\d<\/td><td>\d+ on <code>openai\/gpt-oss-20b<\/code><\/td>/
    )
  })

  it("a deadline the budget cannot meet is a gate (exit 3) that says what would meet it; max_cost_usd: 0 pays nothing", async () => {
    const dir = job({ items: 600, perDay: 50, budget: "0" })
    const r = await runCli(["plan", "p.yaml"], { cwd: dir })
    expect(r.code).toBe(3)
    expect(r.stdout).toMatch(
      /✗ deadline: meeting .* needs \d+ paid requests .* the budget is \$0: a deadline after \d{4}-\d\d-\d\d \(free only needs 12 days\), or max_cost_usd: [\d.]+, would meet it/
    )
    const s = await sim({ freePerDay: 50 })
    const run = await runCli(["run", "p.yaml", "--base-url", s.url, "--out-dir", "runs"], {
      cwd: dir,
      env: { TOLLGATE_HOME: tempHome(), OPENROUTER_API_KEY: "sk-or-v1-deadline" }
    })
    expect(run.code).toBe(3)
    expect(s.log).toHaveLength(0)
    const passed = await runCli(["plan", "p.yaml", "--deadline", "2020-01-01T00:00Z"], { cwd: dir })
    expect(passed.code).toBe(3)
    expect(passed.stdout).toContain("has passed")
  })

  it("run: today's free share free, the rest the deadline needs paid now, the later day's share left for the reset; nothing sent twice on a resume", async () => {
    const s = await sim({ freePerDay: 10 })
    const dir = job({ items: 30, perDay: 10, budget: "0.05" })
    const env = { TOLLGATE_HOME: tempHome(), OPENROUTER_API_KEY: "sk-or-v1-deadline" }
    const args = [
      "run",
      "p.yaml",
      "--base-url",
      s.url,
      "--out-dir",
      "runs",
      "--settle",
      "off",
      "--format",
      "json"
    ]
    const first = await runCli(args, { cwd: dir, env })
    expect(first.code, first.stderr).toBe(3) // stopped: 10 wait for tomorrow's quota
    const summary = JSON.parse(first.stdout)
    expect(summary.status).toBe("stopped")
    expect(summary.actual.overflow).toMatchObject({ free: 10, paid: 10 })
    expect(summary.actual.overflow.saved_usd).toBeGreaterThan(0)
    expect(s.log.filter((a) => a.model === FREE)).toHaveLength(10)
    expect(s.log.filter((a) => a.model === PAID)).toHaveLength(10)
    const rows = records(dir)
    expect(rows.filter((r) => r.route === "free")).toHaveLength(10)
    // the run's HTML report says it too
    const page = await runCli(["report", summary.run.dir, "--out", "-"], { cwd: dir })
    expect(page.stdout).toContain('<data data-key="actual.overflow.free" value="10">')
    expect(page.stdout).toContain('<data data-key="actual.overflow.paid" value="10">')
    expect(rows.filter((r) => r.route === "paid" && r.overflow_reason === "deadline")).toHaveLength(10)
    // the same day again: the 20 answers are reused, the 10 still wait for the reset
    const again = await runCli(args.slice(0, -2), { cwd: dir, env })
    expect(again.code).toBe(3)
    expect(s.log).toHaveLength(20)
    expect(again.stdout).toMatch(
      /free first: 10 answered free, 10 on the paid overflow model; \$[\d.]+ saved against sending all of them paid/
    )
  })

  it("a shard takes its share of the free plan: half the items, half of today's free share", async () => {
    const s = await sim({ freePerDay: 10 })
    const dir = job({ items: 30, perDay: 10, budget: "0.05" })
    const r = await runJob(dir, s.url, ["--shard", "1/2"])
    expect(r.code, r.stderr).toBe(3) // its share of tomorrow's waits for the reset
    expect(s.log.filter((a) => a.model === FREE)).toHaveLength(5)
    expect(s.log.filter((a) => a.model === PAID)).toHaveLength(5)
  })

  it("with --until-done it goes back to free after the daily reset and finishes: 20 free, 10 paid, none twice", async () => {
    const s = await sim({ freePerDay: 10 })
    const dir = job({ items: 30, perDay: 10, budget: "0.05" })
    const r = runOnTestClock(
      ["run", "p.yaml", "--base-url", s.url, "--until-done", "--out-dir", "runs", "--settle", "off"],
      { cwd: dir, env: ENV() }
    )
    await until(() => r.waits().length === 1, 30_000)
    expect(s.log).toHaveLength(20)
    s.rollDay()
    r.jumpPast(r.waits()[0]!)
    expect((await r.done).code, r.stderr()).toBe(0)
    expect(s.log.filter((a) => a.model === FREE)).toHaveLength(20)
    expect(s.log.filter((a) => a.model === PAID)).toHaveLength(10)
    expect(new Set(s.successes().map((a) => a.key)).size).toBe(30)
    expect(records(dir).filter((x) => x.route === "free")).toHaveLength(20)
  })

  it("a free model that starts answering 404 mid-run: the rest go to the paid model, within the budget", async () => {
    const s = await sim({
      freePerDay: 1000,
      fault: (n, body) => (body.model === FREE && n > 5 ? "404" : undefined)
    })
    // due in an hour: today's quota takes all 30 free, until the model goes
    const dir = job({
      items: 30,
      perDay: 1000,
      budget: "0.05",
      deadline: new Date(Date.now() + 3_600_000).toISOString(),
      extra: "    retry: { max_attempts: 2 }"
    })
    const r = await runJob(dir, s.url, ["--concurrency", "1"])
    expect(r.code, r.stderr).toBe(0)
    const summary = JSON.parse(r.stdout)
    expect(summary.actual.overflow).toEqual({ free: 5, paid: 25, saved_usd: expect.any(Number) })
    // one 404 told the run the model is gone: the items after it were not tried free
    expect(s.log.filter((a) => a.status === 404)).toHaveLength(1)
    const gone = records(dir).filter((x) => x.overflow_reason?.includes("HTTP 404"))
    expect(gone).toHaveLength(1)
    expect(summary.actual.cost_usd).toBeLessThanOrEqual(0.05)
  })

  it("the provider's daily cap comes before the plan's: that item and the rest of today's share go paid, the run goes on", async () => {
    // the pipeline says 10 a day; the provider allows 5
    const s = await sim({ freePerDay: 5 })
    const dir = job({ items: 30, perDay: 10, budget: "0.05" })
    // one at a time, so exactly one free request meets the cap
    const r = await runJob(dir, s.url, ["--concurrency", "1"])
    expect(r.code, r.stderr).toBe(3) // tomorrow's share waits for the reset, as planned
    const summary = JSON.parse(r.stdout)
    expect(summary.status).toBe("stopped")
    expect(summary.reason ?? "").not.toContain("daily free-model cap")
    const free = s.log.filter((a) => a.model === FREE)
    expect(free.filter((a) => a.status === 200)).toHaveLength(5)
    expect(free.filter((a) => a.status === 429)).toHaveLength(1) // one refusal, then no more free today
    // 5 free; the refused one and the 14 no free day can take are paid; 10 wait for tomorrow
    expect(s.log.filter((a) => a.model === PAID && a.status === 200)).toHaveLength(15)
    expect(summary.actual.overflow).toMatchObject({ free: 5, paid: 15 })
    expect(records(dir).filter((x) => x.overflow_reason?.includes("daily free-model cap"))).toHaveLength(1)
  })

  it("validation: an overflow from a paid model, to a free one, or to an unknown one, and a deadline without a zone, each at file:line:col", async () => {
    const dir = writeDir({
      "p.yaml": [
        "version: 1",
        "name: bad",
        "deadline: 2026-12-05T09:00",
        "steps:",
        "  - id: a",
        "    model: openai/gpt-4o-mini",
        "    overflow: {}",
        "    prompt: hi",
        "    max_tokens: 10",
        "  - id: b",
        `    model: ${FREE}`,
        "    overflow: { model: google/gemma-4-31b-it:free }",
        "    prompt: hi",
        "    max_tokens: 10",
        "  - id: c",
        `    model: ${FREE}`,
        "    overflow: { model: openai/gpt-oss-21b }",
        "    prompt: hi",
        "    max_tokens: 10",
        ""
      ].join("\n")
    })
    const r = await runCli(["validate", "p.yaml"], { cwd: dir })
    expect(r.code).toBe(2)
    const lines = r.stderr.trim().split("\n")
    expect(lines[0]).toMatch(/^p\.yaml:3:11: deadline "2026-12-05T09:00": expected an instant with its zone/)
    expect(lines[1]).toMatch(/^p\.yaml:7:5: step "a": overflow is for a step on a free model/)
    expect(lines[2]).toMatch(/^p\.yaml:12:24: step "b": overflow model "google\/gemma-4-31b-it:free" is free/)
    expect(lines[3]).toMatch(/^p\.yaml:17:24: unknown model "openai\/gpt-oss-21b"/)
    const flag = await runCli(["plan", "p.yaml", "--deadline", "soon"], { cwd: dir })
    expect(flag.code).toBe(2)
  })
})
