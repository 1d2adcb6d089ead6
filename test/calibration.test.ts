/**
 * Estimates that learn from every run: against a simulator whose models bill one prompt token
 * per 4 bytes (not the o200k count the plan makes) and whose replies vary in length, the plan of a
 * second run on new data of the same kind expects each model's prompt tokens within ±10% of the
 * bill and the fan-out's cost within ±15%; an --echo run teaches nothing.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { runCli, tempHome } from "./support/cli.ts"
import { writeDir } from "./support/pipelines.ts"
import { startRedis } from "./support/redis.ts"
import { simulatorPool } from "./support/simulator.ts"

const { sim, closeAll } = simulatorPool()
afterEach(closeAll)

const PIPELINE = `version: 1
name: calibrated
inputs:
  notes: { type: array, from: a.jsonl }
steps:
  - id: summarize
    for_each: inputs.notes
    model: anthropic/claude-haiku-4.5
    system: Summarize the support note in two sentences for the on-call engineer.
    prompt: "{{ item.text }}"
    max_tokens: 200
  - id: digest
    model: openai/gpt-4o-mini
    prompt: "Group these summaries by theme:{% for s in steps.summarize.outputs %}\\n- {{ s }}{% endfor %}"
    max_tokens: 400
`

const WORDS = [
  "latency",
  "timeout",
  "checkout",
  "invoice",
  "refund",
  "login",
  "cache",
  "deploy",
  "Ünïcode",
  "2FA"
]

/** A note of 300-500 words, varied by seed: the same kind of data, never the same text. */
const note = (seed: number) =>
  Array.from(
    { length: 300 + ((seed * 37) % 200) },
    (_, i) => WORDS[(seed * 7 + i * 13 + i * i) % WORDS.length]
  ).join(" ")

const data = (from: number) =>
  `${Array.from({ length: 30 }, (_, i) => JSON.stringify({ text: note(from + i) })).join("\n")}\n`

/** Reply length varies with the prompt (20-119 tokens); the text is as long as its bill (4 bytes a token). */
const length = (body: Record<string, unknown>) => 20 + (JSON.stringify(body.messages).length % 100)

const start = () =>
  sim({
    promptTokenizer: "bytes/4",
    completionTokens: length,
    reply: (body) => "abc ".repeat(length(body))
  })

const planJson = async (dir: string, home: string, file: string, args: string[] = []) => {
  const r = await runCli(
    ["plan", "p.yaml", "--input", `notes=@${file}`, "--out-dir", "runs", "--format", "json", ...args],
    {
      cwd: dir,
      env: { TOLLGATE_HOME: home }
    }
  )
  expect(r.code, r.stderr).toBe(0)
  return JSON.parse(r.stdout)
}

const run = async (dir: string, home: string, file: string, args: string[]) => {
  const r = await runCli(
    ["run", "p.yaml", "--input", `notes=@${file}`, "--out-dir", "runs", "--format", "json", ...args],
    {
      cwd: dir,
      env: { TOLLGATE_HOME: home, OPENROUTER_API_KEY: "sk-test" }
    }
  )
  expect(r.code, r.stderr).toBe(0)
  return JSON.parse(r.stdout)
}

const step = (j: { steps: Array<{ id: string }> }, id: string) =>
  j.steps.find((x) => x.id === id) as never as {
    tokens: { prompt: { expected: number } }
    cost_usd: { expected: number; p90: number }
    actual: { prompt_tokens: number; cost_usd: number }
  }

const within = (expected: number, actual: number, tolerance: number) =>
  Math.abs(expected - actual) / actual <= tolerance

describe("calibration from history", () => {
  it("a second run on new data: prompt tokens within ±10% per model, the fan-out's cost within ±15%", async () => {
    const s = await start()
    const dir = writeDir({ "p.yaml": PIPELINE, "a.jsonl": data(0), "b.jsonl": data(100) })
    const home = tempHome()
    // the first plan knows nothing: o200k counts and half of max_tokens
    const before = await planJson(dir, home, "a.jsonl")
    const first = await run(dir, home, "a.jsonl", ["--base-url", s.url])
    // without calibration the tokenizer gap shows (the check below would fail)
    expect(
      within(
        step(before, "summarize").tokens.prompt.expected,
        step(first, "summarize").actual.prompt_tokens,
        0.1
      )
    ).toBe(false)

    const plan = await planJson(dir, home, "b.jsonl")
    const second = await run(dir, home, "b.jsonl", ["--base-url", s.url])
    for (const id of ["summarize", "digest"])
      expect(
        within(step(plan, id).tokens.prompt.expected, step(second, id).actual.prompt_tokens, 0.1),
        `${id}: expected ${step(plan, id).tokens.prompt.expected}, billed ${step(second, id).actual.prompt_tokens}`
      ).toBe(true)
    expect(
      within(step(plan, "summarize").cost_usd.expected, step(second, "summarize").actual.cost_usd, 0.15),
      `summarize: expected $${step(plan, "summarize").cost_usd.expected}, billed $${step(second, "summarize").actual.cost_usd}`
    ).toBe(true)
    expect(second.actual.within_p90).toBe(true)
    expect(readdirSync(join(dir, "runs"))).toContain(".calibration.json")

    // an --echo run teaches nothing: the next plan is the same (of new data: the cache holds none of it)
    const numbers = (j: { steps: Array<{ cost_usd: unknown; tokens: unknown }> }) =>
      j.steps.map((x) => [x.cost_usd, x.tokens])
    const fresh = data(200)
    const c = writeDir({ "c.jsonl": fresh })
    const beforeEcho = await planJson(dir, home, join(c, "c.jsonl"))
    await run(dir, home, join(c, "c.jsonl"), ["--echo"])
    expect(numbers(await planJson(dir, home, join(c, "c.jsonl")))).toEqual(numbers(beforeEcho))
    expect(JSON.parse(readFileSync(join(dir, "runs", ".calibration.json"), "utf8")).version).toBe(1)
  })

  it("on a shared store, what one machine's runs teach, another machine's plans know", async () => {
    const s = await start()
    const redis = await startRedis()
    try {
      const store = ["--store", redis.url]
      // machine A runs on its data, with its own state dir and out-dir
      const a = writeDir({ "p.yaml": PIPELINE, "a.jsonl": data(0) })
      await run(a, tempHome(), "a.jsonl", ["--base-url", s.url, ...store])
      expect(readdirSync(join(a, "runs"))).not.toContain(".calibration.json") // the index is the store's
      // machine B plans new data: with the store it knows A's history; alone it does not
      const b = writeDir({ "p.yaml": PIPELINE, "b.jsonl": data(100) })
      const shared = await planJson(b, tempHome(), "b.jsonl", store)
      const alone = await planJson(b, tempHome(), "b.jsonl")
      const billed = await run(b, tempHome(), "b.jsonl", ["--base-url", s.url, ...store])
      const prompt = (j: { steps: Array<{ id: string }> }) => step(j, "summarize").tokens.prompt.expected
      const actual = step(billed, "summarize").actual.prompt_tokens
      expect(within(prompt(shared), actual, 0.1), `expected ${prompt(shared)}, billed ${actual}`).toBe(true)
      expect(within(prompt(alone), actual, 0.1)).toBe(false)
    } finally {
      redis.stop()
    }
  })
})
