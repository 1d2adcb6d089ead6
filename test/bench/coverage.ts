/**
 * `pnpm bench coverage`: how good the plan's figures are against the provider's bill. A pipeline
 * of mixed steps (a 40-item fan-out on gpt-4o-mini, then one long Claude digest of its outputs
 * that hits its max_tokens) runs six times in a row, in several independent histories, against
 * a simulator whose tokenizers bill more than ours counts (3% and 32%) and whose reply lengths
 * vary. Each run is planned first, then run and settled against the simulator's `/generation`.
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { Money } from "@tollgate/pricing"
import { countTokens } from "gpt-tokenizer"
import { runCli, tempHome } from "../support/cli.ts"
import { writeDir } from "../support/pipelines.ts"
import { startSimulator } from "../support/simulator.ts"

const MINI = "openai/gpt-4o-mini"
const CLAUDE = "anthropic/claude-sonnet-4.5"

const PIPELINE = `version: 1
name: coverage
inputs:
  articles: { type: array, from: articles.jsonl }
steps:
  - id: summarize
    for_each: inputs.articles
    as: article
    model: ${MINI}
    prompt: |
      Summarize for a reader who cares about cost:
      {{ article.text }}
    max_tokens: 300
  - id: digest
    model: ${CLAUDE}
    prompt: |
      Write a digest of these summaries, with a headline and a paragraph per theme:
      {% for s in steps.summarize.outputs %}
      - {{ s }}
      {% endfor %}
    max_tokens: 600
`

/** A small seeded generator (mulberry32): the same history each time the bench runs. */
const rng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const WORDS = "cost token price budget model request cache quota provider invoice settle plan".split(" ")
const text = (r: () => number, words: number) =>
  Array.from({ length: words }, () => WORDS[Math.floor(r() * WORDS.length)]).join(" ")

interface RunFigures {
  readonly expected: number
  readonly p90: number
  readonly max: number
  readonly billed: number
  /** Per model: prompt tokens the plan expected, and the bill's. */
  readonly prompt: Record<string, { expected: number; billed: number }>
}

const history = async (seed: number, runs: number): Promise<RunFigures[]> => {
  const r = rng(seed)
  // summaries of 30–150 words, billed as the tokens they are; the digest would run past its 600-token cap
  const replies = new WeakMap<object, string>()
  const sim = await startSimulator({
    promptScale: { [MINI]: 1.03, [CLAUDE]: 1.32 },
    completionTokens: (body) => {
      if (body.model === CLAUDE) return 900
      const reply = text(r, 30 + Math.floor(r() * 120))
      replies.set(body, reply)
      return countTokens(reply)
    },
    reply: (body) => replies.get(body) ?? "digest"
  })
  const articles = Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: i, text: text(r, 80 + i * 3) }))
  const dir = writeDir({ "p.yaml": PIPELINE })
  writeFileSync(join(dir, "articles.jsonl"), `${articles.join("\n")}\n`)
  const env = { TOLLGATE_HOME: tempHome(), OPENROUTER_API_KEY: "sk-bench-coverage" }
  const common = ["--base-url", sim.url, "--out-dir", "runs", "--format", "json"]
  const out: RunFigures[] = []
  for (let i = 0; i < runs; i++) {
    const plan = JSON.parse((await runCli(["plan", "p.yaml", ...common], { cwd: dir, env })).stdout)
    const before = sim.settledBill()
    const ran = await runCli(["run", "p.yaml", ...common, "--no-cache", "--settle", "on"], { cwd: dir, env })
    const summary = JSON.parse(ran.stdout)
    if (ran.code !== 0) throw new Error(`coverage run failed (${ran.code}): ${ran.stderr}`)
    const billed = Money.toNumber(Money.sub(sim.settledBill(), before))
    const prompt: RunFigures["prompt"] = {}
    for (const s of summary.steps as Array<{
      model: string
      tokens: { prompt: { expected: number } }
      actual: { prompt_tokens: number }
    }>) {
      const p = prompt[s.model] ?? { expected: 0, billed: 0 }
      p.expected += s.tokens.prompt.expected
      p.billed += s.actual.prompt_tokens
      prompt[s.model] = p
    }
    out.push({
      expected: plan.cost_usd.expected,
      p90: plan.cost_usd.p90,
      max: plan.cost_usd.max,
      billed,
      prompt
    })
  }
  await sim.close()
  return out
}

const pct = (a: number, b: number) => ((a - b) / b) * 100
const signed = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(1)}%`

export const coverage = async (record: (name: string, value: string, detail: string) => void) => {
  const histories = 8
  const runs = 6
  const all = await Promise.all(Array.from({ length: histories }, (_, h) => history(1_000 + h, runs)))
  const flat = all.flat()
  const underP90 = flat.filter((f) => f.billed <= f.p90 * (1 + 1e-9)).length
  const underMax = flat.filter((f) => f.billed <= f.max * (1 + 1e-9)).length
  record(
    "coverage: billed ≤ p90",
    `${((underP90 / flat.length) * 100).toFixed(0)}%`,
    `${underP90} of ${flat.length} runs (${histories} histories × ${runs} runs, mixed steps, settled bills) (goal ≥ 90%)`
  )
  record(
    "coverage: billed ≤ max",
    `${((underMax / flat.length) * 100).toFixed(0)}%`,
    `${underMax} of ${flat.length} runs (must be 100%)`
  )
  const worst = (errors: ReadonlyArray<number>) =>
    errors.reduce((w, e) => (Math.abs(e) > Math.abs(w) ? e : w), 0)
  const meanAbs = (errors: ReadonlyArray<number>) =>
    errors.reduce((n, e) => n + Math.abs(e), 0) / errors.length
  for (const after of [0, 1, 5]) {
    const errors = all.map((h) => pct(h[after]!.expected, h[after]!.billed))
    const models = [MINI, CLAUDE].map((m) => {
      const e = all.map((h) => pct(h[after]!.prompt[m]!.expected, h[after]!.prompt[m]!.billed))
      return `${m.split("/")[1]} prompt ±${meanAbs(e).toFixed(1)}% (worst ${signed(worst(e))})`
    })
    record(
      `expected vs bill after ${after} run${after === 1 ? "" : "s"}`,
      `±${meanAbs(errors).toFixed(1)}%`,
      `mean error over ${histories} histories (worst ${signed(worst(errors))}); ${models.join(", ")}${after === 1 ? " (goal: run ±15%, each model's prompt ±10%)" : ""}`
    )
  }
}
