/**
 * The plan at scale (`pnpm bench plan`, `pnpm bench plan-1m`): a JSONL fan-out of N items of
 * ~300 bytes, planned fresh (a new state dir: every text counted) and warm (the same state dir:
 * every text counted before), beside gpt-tokenizer alone counting the same texts in the same
 * process. One-time costs of a process (loading modules, compiling the schema, loading the ranks;
 * the tokenizer's import for the floor) are paid by a small plan first, on both sides.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { CatalogStore } from "@tollgate/core"
import { Promises } from "@tollgate/runner"
import { bundledRunner } from "./bundle.ts"

type Record = (name: string, value: string, detail: string) => void
const BIN = fileURLToPath(new URL("../../packages/runner/bin/runner.js", import.meta.url))

const PIPELINE = [
  "version: 1",
  "name: big",
  "account: { credits_purchased_usd: 10 }",
  "inputs:",
  "  items: { type: array, from: items.jsonl }",
  "steps:",
  "  - id: summarize",
  "    for_each: inputs.items",
  "    as: article",
  "    model: openai/gpt-4o-mini",
  "    system: You are a concise editor.",
  "    prompt: |",
  "      Summarize {{ article.title }}:",
  "      {{ article.text }}",
  "    max_tokens: 200",
  ""
].join("\n")

const row = (i: number) => ({
  id: i,
  title: `Article ${i}`,
  text: `Item ${i}: ${"prices change often and budgets matter ".repeat(1 + (i % 5))}`
})

/** A dir with the pipeline and its N items. */
export const bigPipeline = (n: number): string => {
  const dir = mkdtempSync(join(tmpdir(), "tg-bench-plan-"))
  const lines: string[] = []
  for (let i = 0; i < n; i++) lines.push(JSON.stringify(row(i)))
  writeFileSync(join(dir, "items.jsonl"), `${lines.join("\n")}\n`)
  writeFileSync(join(dir, "big.yaml"), PIPELINE)
  return dir
}

const planIn = async (dir: string, home: string) => {
  const t0 = performance.now()
  const result = await Promises.plan(join(dir, "big.yaml"), {
    cwd: dir,
    env: { TOLLGATE_HOME: join(dir, home) },
    catalog: CatalogStore.bundled()
  })
  if (result.requests.max === 0) throw new Error("the plan has no requests")
  return performance.now() - t0
}

/** gpt-tokenizer alone on the texts the plan counts (each prompt and the system prompt). */
const floorOf = async (n: number): Promise<number> => {
  const { countTokens } = await import("gpt-tokenizer/encoding/o200k_base")
  countTokens("warm up")
  const t0 = performance.now()
  let total = 0
  for (let i = 0; i < n; i++) {
    const a = row(i)
    total += countTokens(`Summarize ${a.title}:\n${a.text}\n`) + countTokens("You are a concise editor.")
  }
  if (total === 0) throw new Error("nothing counted")
  return performance.now() - t0
}

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`

/** Fresh and warm plans at each size, beside the tokenizer alone. */
export const planBench = async (record: Record, sizes: ReadonlyArray<number>): Promise<void> => {
  await planIn(bigPipeline(3), "state") // the process's one-time costs
  for (const n of sizes) {
    const dir = bigPipeline(n)
    const fresh = await planIn(dir, "state")
    const warm = await planIn(dir, "state")
    const floor = await floorOf(n)
    record(
      `plan ${n.toLocaleString("en-US")}: fresh / warm`,
      `${s(fresh)} / ${s(warm)}`,
      `tokenizer alone on the same texts ${s(floor)}: fresh ${(fresh / floor).toFixed(2)}× (goal ≤ 2×), warm ${(warm / fresh).toFixed(2)}× fresh (goal ≤ 0.5×); ${((fresh / n) * 1000).toFixed(1)} µs per item; process peak RSS so far ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`
    )
  }
}

/** One `runner plan` process of the pipeline in `dir` (state in `dir/state`): wall ms and peak RSS in MB. */
const planProcess = (dir: string, bin = BIN): { ms: number; rssMb: number } => {
  const t0 = performance.now()
  const r = spawnSync(
    "/usr/bin/time",
    ["-f", "%M", process.execPath, bin, "plan", "big.yaml", "--format", "json"],
    {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "", TOLLGATE_HOME: join(dir, "state") },
      encoding: "utf8",
      maxBuffer: 1 << 26
    }
  )
  const ms = performance.now() - t0
  if (r.status !== 0) throw new Error(`runner plan exited ${r.status}: ${r.stderr.slice(-500)}`)
  const lines = r.stderr.trim().split("\n")
  return { ms, rssMb: Number(lines[lines.length - 1]) / 1024 }
}

/**
 * A `runner plan` process of the installed CLI's bundle over 100,000 items, fresh and then warm
 * (the same state dir), start-up included.
 */
export const planProcesses = async (record: Record, n = 100_000): Promise<void> => {
  const dir = bigPipeline(n)
  const bin = bundledRunner()
  const fresh = planProcess(dir, bin)
  const warm = planProcess(dir, bin)
  record(
    `plan ${n.toLocaleString("en-US")} (runner processes)`,
    `${s(fresh.ms)} / ${s(warm.ms)}`,
    `fresh / warm, start-up included: warm ${(warm.ms / fresh.ms).toFixed(2)}× fresh (goal ≤ 0.5×); peak RSS ${fresh.rssMb.toFixed(0)} / ${warm.rssMb.toFixed(0)} MB`
  )
}

/** A `runner plan` process of a million items, fresh, with its peak RSS, beside the tokenizer alone. */
export const planMillion = async (record: Record, n = 1_000_000): Promise<void> => {
  const { ms, rssMb } = planProcess(bigPipeline(n))
  const floor = await floorOf(n)
  record(
    `plan ${n.toLocaleString("en-US")} (a runner process)`,
    `${s(ms)}, ${rssMb.toFixed(0)} MB`,
    `fresh state, start-up included; tokenizer alone on the same texts ${s(floor)}: ${(ms / floor).toFixed(2)}× (goal ≤ 2.5×, ≤ 1 GB)`
  )
}
