/**
 * A resume never forgets what was spent: spending is read back from every record that has it,
 * decoded as JSON; a damaged cost stops the resume (exit 2) before anything is sent.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Money } from "@tollgate/pricing"
import { afterEach, describe, expect, it } from "vitest"
import { runCli, tempHome } from "./support/cli.ts"
import { writeDir } from "./support/pipelines.ts"
import { simulatorPool } from "./support/simulator.ts"

const { sim, closeAll } = simulatorPool()
afterEach(closeAll)

const FAN = `version: 1
name: resume-spend
budget: { gate: expected }
inputs:
  xs: { type: array, default: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] }
steps:
  - { id: a, for_each: inputs.xs, model: openai/gpt-4o-mini, prompt: "item {{ item }}", max_tokens: 1000, retry: { max_attempts: 1 } }
`

/** A run that pays for 4 answers and then fails (the provider refuses with 400), leaving a resumable run. */
const interrupted = async () => {
  const dir = writeDir({ "p.yaml": FAN }, "tg-resume-")
  const env = { TOLLGATE_HOME: tempHome(), OPENROUTER_API_KEY: "sk-test" }
  const plan = JSON.parse((await runCli(["plan", "p.yaml", "--format", "json"], { cwd: dir, env })).stdout)
  // room for 9 requests at their worst (not all 10): the first run pays for 4
  const cap = Money.toPlain(Money.round(Money.fromNumber(plan.steps[0].max_request_cost_usd * 9), 9))
  let failing = true
  const s = await sim({
    // long replies, one short of the cap (a reply at the cap would teach the plan to expect the cap)
    completionTokens: (b) => Number(b.max_tokens) - 1,
    fault: (n) => (failing && n > 4 ? "400" : undefined)
  })
  const args = [
    "run",
    "p.yaml",
    "--base-url",
    s.url,
    "--no-cache",
    "--concurrency",
    "1",
    "--max-cost",
    cap,
    "--out-dir",
    "runs"
  ]
  const first = await runCli(args, { cwd: dir, env })
  expect(first.code, first.stderr + first.stdout).toBe(1)
  expect(s.successes()).toHaveLength(4)
  failing = false
  const runDir = join(dir, "runs", readdirSync(join(dir, "runs")).find((n) => !n.startsWith("."))!)
  return { dir, env, s, args, cap, runDir, again: () => runCli(args, { cwd: dir, env }) }
}

describe("a resume's spending", () => {
  it("with events.ndjson deleted, the step records still count, and what was in flight counts at its worst", async () => {
    const r = await interrupted()
    rmSync(join(r.runDir, "events.ndjson"))
    const again = await r.again()
    expect(again.code, again.stderr + again.stdout).toBe(3)
    expect(again.stderr).toContain("the run being resumed has no events.ndjson: its step records count")
    // 4 paid and one request's worst case for what may have been in flight: room for 4 more
    expect(r.s.successes()).toHaveLength(8)
    expect(Money.lte(r.s.billed(), Money.usd(r.cap))).toBe(true)
  })

  it("with the events re-serialized with spaces, they are read as JSON all the same", async () => {
    const r = await interrupted()
    const file = join(r.runDir, "events.ndjson")
    const spaced = readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.stringify(JSON.parse(l), null, 1).replace(/\n\s*/g, " "))
    writeFileSync(file, `${spaced.join("\n")}\n`)
    const again = await r.again()
    expect(again.code, again.stderr + again.stdout).toBe(3)
    expect(Money.lte(r.s.billed(), Money.usd(r.cap))).toBe(true)
    // the room left after 4 paid answers is 5 worst cases and a little: exactly 5 more were sent
    expect(r.s.successes(), again.stdout + again.stderr).toHaveLength(9)
  })

  it("a negative cost in a step record is damage: exit 2 naming the file and line, nothing sent", async () => {
    const r = await interrupted()
    const file = join(r.runDir, "steps", "a.jsonl")
    const records = readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l !== "")
    records[1] = JSON.stringify({ ...JSON.parse(records[1]!), cost_usd: "-0.5" })
    writeFileSync(file, `${records.join("\n")}\n`)
    const sent = r.s.log.length
    const again = await r.again()
    expect(again.code).toBe(2)
    expect(again.stderr).toMatch(/steps\/a\.jsonl:2: cost_usd "-0\.5" is not a non-negative amount in USD/)
    expect(again.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.s.log.length).toBe(sent)
  })
})
