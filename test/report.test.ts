/**
 * `runner report` opened in a real browser (Debian's headless Chromium through playwright-core):
 * a run's report and a plan's, in light and dark. Each page loads with no console error and no
 * network request, its charts draw what the run did (bars per step and series, one column per
 * slot adding up to the attempts sent, the free attempts per day), every figure on the page is
 * the summary's, a model's hostile reply stays text, and the outputs filter works from the
 * keyboard. Screenshots are kept under test-results/ as artifacts.
 */
import { mkdirSync, readdirSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { pathToFileURL } from "node:url"
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { launchBrowser } from "./support/browser.ts"
import { ROOT, runCli, tempHome } from "./support/cli.ts"
import { writeDir } from "./support/pipelines.ts"
import { type Simulator, startSimulator } from "./support/simulator.ts"

const FREE = "openai/gpt-oss-20b:free"
const HOSTILE = `<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">`
const ARTIFACTS = join(ROOT, "test-results")

const pipeline = (items: number) => ({
  "items.jsonl": `${Array.from({ length: items }, (_, i) => JSON.stringify({ id: i, text: `article ${i}` })).join("\n")}\n`,
  "p.yaml": [
    "version: 1",
    "name: report-e2e",
    "inputs:",
    "  items: { type: array, from: items.jsonl }",
    "limits: { window: 2s, window_margin: 300ms }",
    "account: { credits_purchased_usd: 10 }",
    "budget: { max_cost_usd: 0.5 }",
    "steps:",
    "  - id: summarize",
    "    for_each: inputs.items",
    `    model: ${FREE}`,
    '    prompt: "Summarize {{ item.text }}"',
    "    max_tokens: 40",
    "  - id: classify",
    "    for_each: inputs.items",
    "    model: openai/gpt-4o-mini",
    '    prompt: "Classify {{ item.text }}"',
    "    max_tokens: 20",
    ""
  ].join("\n")
})

let browser: Browser
let sim: Simulator
let dir: string
let runDir: string
let summary: Record<string, unknown>

beforeAll(async () => {
  browser = await launchBrowser()
  // 24 free requests at 15 per window: some wait, one is refused and retried; a 5xx fails once
  sim = await startSimulator({
    rpm: { [FREE]: 15 },
    windowMs: 2_000,
    fault: (n) => (n === 7 ? "5xx" : undefined),
    reply: (body, n) => (n === 3 ? HOSTILE : `reply ${n} to ${String(body.model)}`)
  })
  dir = writeDir(pipeline(24), "tg-report-")
  const run = await runCli(
    ["run", "p.yaml", "--base-url", sim.url, "--settle", "off", "--out-dir", "runs", "--format", "json"],
    { cwd: dir, env: { TOLLGATE_HOME: tempHome(), OPENROUTER_API_KEY: "sk-or-v1-report-test" } }
  )
  expect(run.code, run.stderr).toBe(0)
  summary = JSON.parse(run.stdout)
  runDir = join(dir, "runs", readdirSync(join(dir, "runs")).find((n) => !n.startsWith("."))!)
  mkdirSync(ARTIFACTS, { recursive: true })
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await sim?.close()
})

/** Opens a page, recording console errors and every request it makes. */
const open = async (file: string, colorScheme: "light" | "dark") => {
  const page = await browser.newPage({ colorScheme, viewport: { width: 1200, height: 900 } })
  const errors: string[] = []
  const requests: string[] = []
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text())
  })
  page.on("pageerror", (e) => errors.push(e.message))
  page.on("request", (r) => requests.push(r.url()))
  const url = pathToFileURL(file).href
  await page.goto(url)
  return { page, errors, others: () => requests.filter((u) => u !== url) }
}

const at = (json: unknown, path: string): unknown =>
  path.split(".").reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], json)

/** Every `<data data-key>` on the page, with its value and its text. */
const figures = (page: Page) =>
  page.$$eval("data[data-key]", (els) =>
    els.map((e) => ({
      key: e.getAttribute("data-key")!,
      value: Number(e.getAttribute("value")),
      text: e.textContent!
    }))
  )

/** The figures equal the JSON they were drawn from, and money shows as its value. */
const expectFiguresOf = async (page: Page, json: unknown) => {
  const shown = await figures(page)
  expect(shown.length).toBeGreaterThan(8)
  for (const f of shown) {
    expect(f.value, f.key).toBe(at(json, f.key))
    // shown rounded to the millionth of a dollar
    if (f.text.startsWith("$"))
      expect(Math.abs(Number(f.text.slice(1)) - f.value)).toBeLessThanOrEqual(5.000001e-7)
  }
}

describe("runner report, in headless Chromium", () => {
  it("a run's report: no console error, no network, charts that draw the run, figures equal to the summary", async () => {
    const r = await runCli(["report", runDir], { cwd: dir })
    expect(r.code, r.stderr).toBe(0)
    const file = join(runDir, "report.html")
    expect(r.stdout.trim()).toBe(`report: ${file}`)
    for (const scheme of ["light", "dark"] as const) {
      const { page, errors, others } = await open(file, scheme)
      expect(errors).toEqual([])
      expect(others()).toEqual([])
      await expectFiguresOf(page, summary)
      expect(await page.textContent("[data-key=status]")).toBe("completed")

      // cost per step: four series for each of two steps, drawn with a width
      const bars = await page.$$eval("#cost-chart rect[data-series]", (rs) =>
        rs.map((r) => ({
          series: r.getAttribute("data-series"),
          width: (r as unknown as { getBBox(): { width: number } }).getBBox().width
        }))
      )
      expect(bars.map((b) => b.series)).toEqual(Array(2).fill(["expected", "p90", "max", "actual"]).flat())
      // the paid step's bars are drawn (the free step costs nothing)
      expect(bars.slice(4).every((b) => b.width > 1)).toBe(true)

      // the rate chart's columns add up to every attempt sent
      const sent = await page.$$eval("#rate-chart rect[data-value]", (rs) =>
        rs.reduce((n, r) => n + Number(r.getAttribute("data-value")), 0)
      )
      expect(sent).toBe(sim.log.length)
      // the timeline: one answered span per answer, refusals and failures as the provider gave them
      const kinds = await page.$$eval("#timeline-chart rect[data-kind]", (rs) =>
        rs.map((r) => r.getAttribute("data-kind"))
      )
      expect(kinds.filter((k) => k === "ok")).toHaveLength(sim.log.filter((a) => a.status === 200).length)
      expect(kinds.filter((k) => k === "refused")).toHaveLength(
        sim.log.filter((a) => a.status === 429).length
      )
      expect(kinds.filter((k) => k === "failed").length).toBeGreaterThanOrEqual(1)
      expect(kinds.filter((k) => k === "wait").length).toBeGreaterThan(0)
      // free attempts per day: every free attempt, failed ones too
      const free = await page.$$eval("#days-chart rect[data-value]", (rs) =>
        rs.map((r) => Number(r.getAttribute("data-value")))
      )
      expect(free).toEqual([sim.log.filter((a) => a.model === FREE).length])

      // every chart is an image with a title and a description
      const charts = await page.$$eval("svg", (ss) =>
        ss.map((s) => ({ role: s.getAttribute("role"), title: s.querySelector("title")?.textContent ?? "" }))
      )
      expect(charts.length).toBe(4)
      for (const c of charts) expect(c.role === "img" && c.title !== "").toBe(true)

      // a hostile reply is shown as text, never run
      expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined()
      expect(await page.textContent("#outputs")).toContain("<script>window.__pwned = 1</script>")

      await page.screenshot({ path: join(ARTIFACTS, `report-run-${scheme}.png`), fullPage: true })
      await page.close()
    }
  })

  it("the outputs are browsable from the keyboard: a step opens with Enter, the filter narrows its rows", async () => {
    const { page } = await open(join(runDir, "report.html"), "light")
    const second = page.locator("#outputs details").nth(1)
    expect(await second.evaluate((d) => (d as unknown as { open: boolean }).open)).toBe(false)
    await second.locator("summary").focus()
    await page.keyboard.press("Enter")
    expect(await second.evaluate((d) => (d as unknown as { open: boolean }).open)).toBe(true)

    const first = page.locator("#outputs details").first()
    const rows = first.locator("tbody tr:visible")
    expect(await rows.count()).toBe(24)
    await first.locator("input[type=search]").fill("reply 1")
    const left = await rows.allTextContents()
    expect(left.length).toBeGreaterThan(0)
    expect(left.length).toBeLessThan(24)
    for (const text of left) expect(text).toContain("reply 1")
    expect(await first.locator("[aria-live]").textContent()).toBe(`${left.length} of 24 shown`)
    await page.close()
  })

  it("a plan's report: the plan's figures, its cost chart and its days against the quota", async () => {
    const planFile = join(dir, "plan.json")
    const p = await runCli(["plan", "p.yaml", "--out", planFile], { cwd: dir })
    expect(p.code, p.stderr).toBe(0)
    const r = await runCli(["report", "plan.json"], { cwd: dir })
    expect(r.code, r.stderr).toBe(0)
    const plan = JSON.parse(readFileSync(planFile, "utf8"))
    const { page, errors, others } = await open(join(dir, "plan.html"), "dark")
    expect(errors).toEqual([])
    expect(others()).toEqual([])
    await expectFiguresOf(page, plan)
    expect(await page.$$eval("#cost-chart rect[data-series]", (rs) => rs.length)).toBe(2 * 3)
    const days = await page.$$eval("#days-chart rect[data-value]", (rs) =>
      rs.map((r) => Number(r.getAttribute("data-value")))
    )
    expect(days).toEqual(plan.quota.days.map((d: { free_requests: number }) => d.free_requests))
    await page.screenshot({ path: join(ARTIFACTS, "report-plan-dark.png"), fullPage: true })
    await page.close()
  })

  it("bad targets are exit 2 with one line, and --out - writes the page to stdout", async () => {
    const missing = await runCli(["report", "nope"], { cwd: dir })
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain("nope: no such file or directory")
    const notRun = await runCli(["report", dirname(runDir)], { cwd: dir })
    expect(notRun.code).toBe(2)
    expect(notRun.stderr).toContain("not a run directory")
    const notPlan = await runCli(["report", "items.jsonl"], { cwd: dir })
    expect(notPlan.code).toBe(2)
    const stdout = await runCli(["report", runDir, "--out", "-"], { cwd: dir })
    expect(stdout.code).toBe(0)
    expect(stdout.stdout.startsWith("<!doctype html>")).toBe(true)
    expect(stdout.stdout).toContain("default-src 'none'")
  })
})

describe("runner show", () => {
  it("lists a run's steps, prints a step item by item, one item alone, or JSON lines for piping", async () => {
    const all = await runCli(["show", runDir], { cwd: dir })
    expect(all.code, all.stderr).toBe(0)
    expect(all.stdout).toContain("  summarize: 24 outputs\n  classify: 24 outputs\n")

    const lines = await runCli(["show", runDir, "classify", "--format", "jsonl"], { cwd: dir })
    expect(lines.code).toBe(0)
    const rows = lines.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
    expect(rows.map((r) => r.item)).toEqual(Array.from({ length: 24 }, (_, i) => i))
    // each output is the answer the provider sent for that request
    const answered = new Set(
      sim.log
        .filter((a) => a.status === 200 && a.model === "openai/gpt-4o-mini")
        .map((a) => `reply ${a.n} to ${a.model}`)
    )
    for (const r of rows) {
      expect(r).toMatchObject({ step: "classify", status: "ok", model: "openai/gpt-4o-mini" })
      expect(answered.has(r.output)).toBe(true)
    }

    const text = await runCli(["show", runDir, "classify"], { cwd: dir })
    expect(text.stdout.split("\n")[5]).toBe(`[5] ${rows[5].output}`)
    const one = await runCli(["show", runDir, "classify", "--item", "5"], { cwd: dir })
    expect(one.stdout).toBe(`${rows[5].output}\n`)
  })

  it("an unknown step or item, or --item without a step, is exit 2 naming what there is", async () => {
    const step = await runCli(["show", runDir, "nope"], { cwd: dir })
    expect(step.code).toBe(2)
    expect(step.stderr).toContain('no step "nope" in this run; its steps: summarize, classify')
    const item = await runCli(["show", runDir, "classify", "--item", "24"], { cwd: dir })
    expect(item.code).toBe(2)
    expect(item.stderr).toContain("items 0..23")
    const bare = await runCli(["show", runDir, "--item", "1"], { cwd: dir })
    expect(bare.code).toBe(2)
  })
})
