import { spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { CatalogStore, Fingerprint, QuotaLedger, ResponseCache } from "@tollgate/core"
import { Policy } from "@tollgate/pricing"
import { Effect } from "effect"
import { countTokens } from "gpt-tokenizer/encoding/o200k_base"
import { describe, expect, it } from "vitest"
import { ROOT, runBin, runCli, tempHome } from "./support/cli.ts"
import { writeDir } from "./support/pipelines.ts"
import { startRedis } from "./support/redis.ts"

const pipelineIn = (dir: string, name: string, yaml: string) => {
  const path = join(dir, name)
  writeFileSync(path, yaml)
  return path
}
const planJson = async (file: string, args: string[] = [], env: Record<string, string> = {}) => {
  const r = await runCli(["plan", file, "--format", "json", ...args], { env })
  return { ...r, json: r.stdout ? JSON.parse(r.stdout) : undefined }
}

describe("runner plan: examples", () => {
  const examples = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".yaml"))

  it("there are at least four examples, each starting with the schema modeline", () => {
    expect(examples.length).toBeGreaterThanOrEqual(4)
    for (const f of examples)
      expect(
        readFileSync(join(ROOT, "examples", f), "utf8").startsWith(
          "# yaml-language-server: $schema=../schemas/pipeline.schema.json"
        )
      ).toBe(true)
  })

  it.each(examples)("%s plans offline with exit 0 and the spec's JSON fields", async (f) => {
    const r = await runBin(["plan", `examples/${f}`, "--format", "json"])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const plan = JSON.parse(r.stdout)
    expect(Object.keys(plan)).toEqual(
      expect.arrayContaining([
        "format_version",
        "pipeline",
        "ok",
        "complete",
        "requests",
        "free_requests",
        "cost_usd",
        "min_duration_s",
        "steps",
        "quota",
        "budget",
        "violations"
      ])
    )
    expect(plan.ok).toBe(true)
    expect(plan.complete).toBe(true)
    expect(plan.requests).toMatchObject({ expected: expect.any(Number), max: expect.any(Number), cached: 0 })
    expect(plan.quota).toMatchObject({ free_per_day: expect.any(Number), free_used_today: 0 })
    for (const s of plan.steps) {
      expect(s).toMatchObject({
        id: expect.any(String),
        requests: expect.any(Number),
        tokens: { prompt: { expected: expect.any(Number), max: expect.any(Number) } }
      })
      expect(s.tokens.prompt.max).toBeGreaterThanOrEqual(s.tokens.prompt.expected)
      expect(s.cost_usd.max).toBeGreaterThanOrEqual(s.cost_usd.expected)
    }
  })

  it("the fan-out example counts its requests from the data file", async () => {
    const { json } = await planJson("examples/summarize-articles.yaml")
    const lines = readFileSync(join(ROOT, "examples/data/articles.jsonl"), "utf8").trim().split("\n").length
    expect(json.steps[0]).toMatchObject({ id: "summarize", requests: lines, free: true })
    expect(json.free_requests).toBe(lines + 1)
    // 9 free requests fit one window of 20 rpm: they go at once
    expect(json.min_duration_s).toBe(0)
  })

  it("markdown is a PR-comment table; table is the default", async () => {
    const md = await runCli(["plan", "examples/compare-models.yaml", "--format", "markdown"])
    expect(md.stdout).toMatch(/^### ✅ Tollgate plan: `compare-models`/)
    expect(md.stdout).toContain("| step | model |")
    const table = await runCli(["plan", "examples/compare-models.yaml"])
    expect(table.stdout).toContain("verdict: within budget and quota")
  })
})

describe("runner plan: projections against hand-computed values", () => {
  const dir = mkdtempSync(join(tmpdir(), "tg-plan-"))

  it("one request: o200k tokens + framing expected, UTF-8 bytes + framing max, exact costs", async () => {
    const file = pipelineIn(
      dir,
      "one.yaml",
      "version: 1\nname: one\nsteps:\n  - id: a\n    model: openai/gpt-4o-mini\n    prompt: hello world\n    max_tokens: 100\n"
    )
    const { json, code } = await planJson(file)
    expect(code).toBe(0)
    const expectedPrompt = countTokens("hello world") + 4 + 3
    expect(expectedPrompt).toBe(9)
    expect(json.steps[0].tokens).toEqual({
      prompt: { expected: 9, max: 11 + 16 },
      completion: { expected: 50, p90: 100, max: 100 }
    })
    // expected: 9 × 0.00000015 + 50 × 0.0000006; max: 27 × 0.00000015 + 100 × 0.0000006
    expect(json.cost_usd).toEqual({ expected: 0.00003135, p90: 0.00006135, max: 0.00006405 })
  })

  it("upstream outputs count as their expected completion and, in max, their max_tokens; fallbacks at the dearest", async () => {
    const file = pipelineIn(
      dir,
      "chain.yaml",
      [
        "version: 1",
        "name: chain",
        "inputs:",
        "  xs: { type: array, default: [a, b, c] }",
        "steps:",
        "  - id: each",
        "    for_each: inputs.xs",
        "    model: openai/gpt-4o-mini",
        '    prompt: "{{ item }}"',
        "    max_tokens: 10",
        "  - id: merge",
        "    model: [openai/gpt-4o-mini, anthropic/claude-haiku-4.5]",
        '    prompt: "{% for s in steps.each.outputs %}{{ s }}{% endfor %}"',
        "    max_tokens: 20",
        ""
      ].join("\n")
    )
    const { json } = await planJson(file)
    const merge = json.steps.find((s: { id: string }) => s.id === "merge")
    expect(json.steps[0].requests).toBe(3)
    // three upstream outputs: expected 3 × 5, max 3 × 10, plus framing
    expect(merge.tokens.prompt).toEqual({ expected: 15 + 7, max: 30 + 16 })
    // max at claude-haiku-4.5 (the dearer): 46 × 0.000001 + 20 × 0.000005
    expect(merge.cost_usd.max).toBe(0.000146)
  })

  it("a count that depends on an upstream output without max_items makes the plan incomplete and fails the gate", async () => {
    const yaml = (maxItems: string) =>
      [
        "version: 1",
        "name: split",
        "budget: { max_cost_usd: 1 }",
        "defaults: { model: openai/gpt-4o-mini, max_tokens: 50 }",
        "steps:",
        "  - id: split",
        "    prompt: list five ideas as JSON",
        "    output: { format: json }",
        "  - id: expand",
        "    for_each: steps.split.output.items",
        maxItems,
        '    prompt: "expand {{ item }}"',
        ""
      ].join("\n")
    const open = await planJson(pipelineIn(dir, "split.yaml", yaml("")))
    expect(open.code).toBe(3)
    expect(open.json.complete).toBe(false)
    expect(open.json.violations[0].kind).toBe("incomplete")
    expect(open.json.violations[0].message).toContain("max_items")
    const bounded = await planJson(pipelineIn(dir, "split2.yaml", yaml("    max_items: 5")))
    expect(bounded.code).toBe(0)
    expect(bounded.json.complete).toBe(true)
    expect(bounded.json.steps[1].requests).toBe(5)
  })

  it("gates: max cost, expected cost, max_requests, --max-cost, free quota left, context window", async () => {
    const base = "version: 1\nname: g\ndefaults: { model: openai/gpt-4o-mini, max_tokens: 1000 }\n"
    const over = await planJson(
      pipelineIn(
        dir,
        "over.yaml",
        `${base}budget: { max_cost_usd: 0.0001, max_requests: 0 }\nsteps:\n  - { id: a, prompt: hi }\n`
      )
    )
    expect(over.code).toBe(3)
    expect(over.json.violations.map((v: { kind: string }) => v.kind).sort()).toEqual([
      "max_cost_usd",
      "max_requests"
    ])
    // expected ≈ 0.0003; max ≈ 0.0006
    const gateExpected = await planJson(
      pipelineIn(
        dir,
        "exp.yaml",
        `${base}budget: { max_cost_usd: 0.0005, gate: expected }\nsteps:\n  - { id: a, prompt: hi }\n`
      )
    )
    expect(gateExpected.code).toBe(0)
    const tightened = await planJson(join(dir, "exp.yaml"), ["--max-cost", "0.0001"])
    expect(tightened.code).toBe(3)
    expect(tightened.json.budget.max_cost_usd).toBe(0.0001)

    const free = pipelineIn(
      dir,
      "free.yaml",
      'version: 1\nname: f\ninputs:\n  xs: { type: array, default: [1,2,3,4,5] }\ndefaults: { model: openai/gpt-oss-20b:free, max_tokens: 10 }\nsteps:\n  - { id: a, for_each: inputs.xs, prompt: "{{ item }}" }\n'
    )
    const home = tempHome()
    const fp = Fingerprint.keyFingerprint("sk-test")
    await Effect.runPromise(QuotaLedger.makeFile(home).consume(fp, Policy.utcDay(new Date()), 47, 50))
    const quota = await planJson(free, [], { TOLLGATE_HOME: home, OPENROUTER_API_KEY: "sk-test" })
    expect(quota.code).toBe(3)
    expect(quota.json.quota).toMatchObject({ free_per_day: 50, free_used_today: 47, free_left_today: 3 })
    // 3 today, the other 2 after the reset
    expect(quota.json.quota.days.map((d: { free_requests: number }) => d.free_requests)).toEqual([3, 2])
    expect(quota.json.violations[0]).toMatchObject({ kind: "free_quota" })
    expect(quota.json.violations[0].message).toMatch(/resets at \d{4}-\d\d-\d\dT00:00:00Z/)
    // another key has its own quota
    expect((await planJson(free, [], { TOLLGATE_HOME: home, OPENROUTER_API_KEY: "sk-other" })).code).toBe(0)

    const big = "word ".repeat(9000)
    const ctx = await planJson(
      pipelineIn(
        dir,
        "ctx.yaml",
        `version: 1\nname: c\ninputs:\n  doc: { type: string, default: "${big}" }\nsteps:\n  - { id: a, model: google/gemma-2-27b-it, prompt: "{{ inputs.doc }}", max_tokens: 500 }\n`
      )
    )
    expect(ctx.code).toBe(3)
    expect(ctx.json.violations[0]).toMatchObject({ kind: "context_window" })
  })

  it("requests already in the response cache count as cached, at $0", async () => {
    const file = pipelineIn(
      dir,
      "cached.yaml",
      "version: 1\nname: c\nsteps:\n  - id: a\n    model: openai/gpt-4o-mini\n    prompt: cache me\n    max_tokens: 10\n"
    )
    const home = tempHome()
    const body = {
      model: "openai/gpt-4o-mini",
      messages: [{ role: "user", content: "cache me" }],
      max_tokens: 10,
      usage: { include: true }
    }
    await Effect.runPromise(
      ResponseCache.makeFile(join(home, "cache")).set(
        ResponseCache.cacheKey("https://openrouter.ai/api/v1", body),
        { choices: [] }
      )
    )
    const { json } = await planJson(file, [], { TOLLGATE_HOME: home })
    expect(json.requests).toEqual({ expected: 0, max: 0, cached: 1 })
    expect(json.cost_usd).toEqual({ expected: 0, p90: 0, max: 0 })
    const noCache = await planJson(file, ["--no-cache"], { TOLLGATE_HOME: home })
    expect(noCache.json.requests.cached).toBe(0)
  })

  it("--out saves the plan with hashes of pipeline, inputs, data and prices", async () => {
    const out = join(dir, "plan.json")
    const r = await runCli(["plan", "examples/summarize-articles.yaml", "--out", out])
    expect(r.code).toBe(0)
    const saved = JSON.parse(readFileSync(out, "utf8"))
    expect(saved.hashes).toMatchObject({
      pipeline: expect.stringMatching(/^[0-9a-f]{64}$/),
      inputs: expect.any(String),
      prices: expect.any(String)
    })
    expect(Object.keys(saved.hashes.data)).toEqual(["examples/data/articles.jsonl"])
  })

  it("bad flags exit 2 and an unknown --input is named", async () => {
    expect((await runCli(["plan", "examples/summarize-articles.yaml", "--max-cost", "lots"])).code).toBe(2)
    const r = await runCli(["plan", "examples/summarize-articles.yaml", "--input", "nope=1"])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('the pipeline has no input "nope"')
    expect(CatalogStore.bundled().size).toBe(414)
  })
})

describe("runner plan: inputs and limits", () => {
  it("--input NAME=@file reads a data file; NAME=VALUE sets a value", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tg-in-"))
    writeFileSync(join(dir, "rows.csv"), 'id,text\n1,"hello, world"\n2,bye\n3,"a ""quoted"" word"\n')
    const file = pipelineIn(
      dir,
      "in.yaml",
      'version: 1\nname: in\ninputs:\n  rows: { type: array, default: [] }\n  n: { type: number, default: 1 }\nsteps:\n  - { id: a, for_each: inputs.rows, model: openai/gpt-4o-mini, prompt: "{{ item.text }} x{{ inputs.n }}", max_tokens: 5 }\n'
    )
    const r = await runCli(
      ["plan", file, "--input", `rows=@${join(dir, "rows.csv")}`, "--input", "n=7", "--format", "json"],
      { cwd: dir }
    )
    expect(r.code).toBe(0)
    const plan = JSON.parse(r.stdout)
    expect(plan.steps[0].requests).toBe(3)
    // "hello, world x7", "bye x7", 'a "quoted" word x7': 15 + 6 + 18 bytes, plus 16 per message
    expect(plan.steps[0].tokens.prompt.max).toBe(39 + 3 * 16)
    const bad = await runCli(["plan", file, "--input", "rows"], { cwd: dir })
    expect(bad.code).toBe(2)
  })

  it("data files with a byte-order mark and CRLF line ends read like any other", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tg-bom-"))
    writeFileSync(join(dir, "rows.jsonl"), '\uFEFF{"t": "a"}\r\n{"t": "b"}\r\n')
    writeFileSync(join(dir, "rows.csv"), "\uFEFFt\r\na\r\nb\r\nc\r\n")
    const yaml = (from: string) =>
      `version: 1\nname: b\ninputs:\n  rows: { type: array, from: ${from} }\nsteps:\n  - { id: a, for_each: inputs.rows, model: openai/gpt-4o-mini, prompt: "{{ item.t }}", max_tokens: 5 }\n`
    const jsonl = JSON.parse(
      (
        await runCli(["plan", pipelineIn(dir, "j.yaml", yaml("rows.jsonl")), "--format", "json"], {
          cwd: dir
        })
      ).stdout
    )
    expect(jsonl.steps[0].requests).toBe(2)
    const csv = JSON.parse(
      (await runCli(["plan", pipelineIn(dir, "c.yaml", yaml("rows.csv")), "--format", "json"], { cwd: dir }))
        .stdout
    )
    expect(csv.steps[0].requests).toBe(3)
    expect(csv.steps[0].tokens.prompt.max).toBe(3 * (1 + 16))
  })

  it("a when that reads only inputs is decided at plan time", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tg-when-"))
    const file = pipelineIn(
      dir,
      "when.yaml",
      'version: 1\nname: w\ninputs:\n  mode: { type: string, default: quick }\nsteps:\n  - { id: deep, when: inputs.mode == "deep", model: openai/gpt-4o-mini, prompt: go, max_tokens: 5 }\n'
    )
    const off = JSON.parse((await runCli(["plan", file, "--format", "json"], { cwd: dir })).stdout)
    expect(off.steps[0]).toMatchObject({ requests: 0, skipped: true })
    expect(off.cost_usd.max).toBe(0)
    const on = JSON.parse(
      (await runCli(["plan", file, "--input", "mode=deep", "--format", "json"], { cwd: dir })).stdout
    )
    expect(on.steps[0].requests).toBe(1)
    expect(on.steps[0].skipped).toBeUndefined()
  })

  it("a pipeline file over 1 MiB is refused before parsing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tg-big-"))
    const file = pipelineIn(
      dir,
      "big.yaml",
      `version: 1\nname: big\n# ${"x".repeat(2 * 1024 * 1024)}\nsteps: []\n`
    )
    const r = await runCli(["validate", file], { cwd: dir })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(
      /big.yaml:1:1: the pipeline is \d+ bytes; pipelines are limited to 1048576 .*\[file-too-large\]/
    )
  })
})

describe("runner plan: the memo of token counts", () => {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-memo-"))
  const file = pipelineIn(
    dir,
    "memo.yaml",
    'version: 1\nname: m\ninputs:\n  xs: { type: array, default: ["alpha beta", "gamma delta epsilon"] }\nsteps:\n  - { id: a, model: openai/gpt-4o-mini, for_each: inputs.xs, prompt: "Summarize: {{ item }}", max_tokens: 50 }\n'
  )

  it("a second plan answers from the memo in the state dir, with the same projection", async () => {
    const home = tempHome()
    const first = await planJson(file, [], { TOLLGATE_HOME: home })
    expect(first.code).toBe(0)
    const memo = readFileSync(join(home, "token-counts.bin"))
    // one record per distinct text sent, then the step's series: each request's count, and its length
    expect((memo.length - 4) / 12).toBe(2 + 2 + 1)
    const second = await planJson(file, [], { TOLLGATE_HOME: home })
    expect(second.json).toEqual(first.json)
    expect(first.json.steps[0].tokens.prompt.expected).toBe(
      2 * 3 + 2 * 4 + countTokens("Summarize: alpha beta") + countTokens("Summarize: gamma delta epsilon")
    )

    // the plan reads the step's counts from the memo (here tampered with): the expectation moves, the bound does not
    for (let k = 2; k < 4; k++) {
      const at = 4 + 12 * k + 8
      memo.writeInt32LE((memo.readInt32LE(at) & ~0x7fff) | 30, at)
    }
    writeFileSync(join(home, "token-counts.bin"), memo)
    const third = await planJson(file, [], { TOLLGATE_HOME: home })
    expect(third.json.steps[0].tokens.prompt.expected).toBe(2 * 30)
    expect(third.json.steps[0].tokens.prompt.max).toBe(first.json.steps[0].tokens.prompt.max)
    expect(third.json.cost_usd.max).toBe(first.json.cost_usd.max)
    expect(third.json.cost_usd.expected).toBeGreaterThan(first.json.cost_usd.expected)
  })

  it("a changed row is counted again: the remembered counts answer only for the same data", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "tollgate-memo-data-"))
    const rows = (last: string) => `{"t": "alpha beta"}\n{"t": "${last}"}\n`
    writeFileSync(join(dataDir, "rows.jsonl"), rows("gamma"))
    const data = pipelineIn(
      dataDir,
      "data.yaml",
      'version: 1\nname: d\ninputs:\n  xs: { type: array, from: rows.jsonl }\nsteps:\n  - { id: a, model: openai/gpt-4o-mini, for_each: inputs.xs, prompt: "Summarize: {{ item.t }}", max_tokens: 50 }\n'
    )
    const home = tempHome()
    const first = await planJson(data, [], { TOLLGATE_HOME: home })
    const longer = "gamma delta epsilon zeta eta theta iota kappa"
    writeFileSync(join(dataDir, "rows.jsonl"), rows(longer))
    const second = await planJson(data, [], { TOLLGATE_HOME: home })
    const framing = 2 * 3 + 2 * 4
    expect(first.json.steps[0].tokens.prompt.expected).toBe(
      framing + countTokens("Summarize: alpha beta") + countTokens("Summarize: gamma")
    )
    expect(second.json.steps[0].tokens.prompt.expected).toBe(
      framing + countTokens("Summarize: alpha beta") + countTokens(`Summarize: ${longer}`)
    )
  })
})

describe("a job bigger than a day's free quota", () => {
  it("120 free requests at 50 a day: the plan says 3 UTC days (50, 50, 20) in JSON, the table and markdown", async () => {
    const dir = writeDir({
      "days.yaml": `version: 1\nname: days\ninputs:\n  xs: { type: array, default: [${Array.from({ length: 120 }, (_, i) => i).join(", ")}] }\nsteps:\n  - { id: a, for_each: inputs.xs, model: openai/gpt-oss-20b:free, prompt: "{{ item }}", max_tokens: 5 }\n`
    })
    const env = { TOLLGATE_HOME: tempHome() }
    const json = await runCli(["plan", "days.yaml", "--format", "json"], { cwd: dir, env })
    expect(json.code).toBe(3)
    const plan = JSON.parse(json.stdout)
    expect(plan.quota.days.map((d: { free_requests: number }) => d.free_requests)).toEqual([50, 50, 20])
    expect(plan.violations[0].message).toMatch(
      /they need 3 UTC days \(50 on \d{4}-\d\d-\d\d, 50 on .*, 20 on .*\)/
    )
    const table = await runCli(["plan", "days.yaml"], { cwd: dir, env })
    expect(table.stdout).toMatch(
      /free-model requests over 3 UTC days: 50 on \d{4}-\d\d-\d\d, 50 on \S+, 20 on \S+/
    )
    const md = await runCli(["plan", "days.yaml", "--format", "markdown"], { cwd: dir, env })
    expect(md.stdout).toMatch(/- free-model requests over 3 UTC days/)
  })
})

describe("runner quota", () => {
  it("with a pipeline: its key and its policy (limits.free.per_day), not the defaults", async () => {
    const dir = writeDir({
      "q.yaml":
        "version: 1\nname: q\nlimits: { free: { per_day: 30 } }\nsteps:\n  - { id: a, model: openai/gpt-oss-20b:free, prompt: hi, max_tokens: 5 }\n"
    })
    const q = await runCli(["quota", "q.yaml", "--format", "json"], {
      cwd: dir,
      env: { TOLLGATE_HOME: tempHome() }
    })
    expect(q.code).toBe(0)
    expect(JSON.parse(q.stdout)).toMatchObject({ free_per_day: 30, free_used_today: 0 })
  })
})

describe("runner plan: the memo of token counts on a shared store", () => {
  it("what one machine counted, another machine's plan answers from (the memo is the store's, not the state dir's)", async () => {
    const redis = await startRedis()
    const cli = (...args: string[]) =>
      spawnSync("redis-cli", ["-u", redis.url, "--raw", ...args], { encoding: "utf8" }).stdout.trim()
    try {
      const dir = mkdtempSync(join(tmpdir(), "tollgate-memo-"))
      const file = pipelineIn(
        dir,
        "memo.yaml",
        'version: 1\nname: m\ninputs:\n  xs: { type: array, default: ["alpha beta", "gamma delta epsilon"] }\nsteps:\n  - { id: a, model: openai/gpt-4o-mini, for_each: inputs.xs, prompt: "Summarize: {{ item }}", max_tokens: 50 }\n'
      )
      const store = ["--store", redis.url]
      const a = tempHome()
      const first = await planJson(file, store, { TOLLGATE_HOME: a })
      expect(first.code).toBe(0)
      expect(readdirSync(a)).not.toContain("token-counts.bin")
      const records = Buffer.from(cli("GET", "tollgate:token-counts:v2"), "base64")
      expect(records.length).toBe((2 + 2 + 1) * 12) // each distinct text sent, then the step's series
      // the store's counts (here tampered with) are what another machine's plan uses
      for (let k = 2; k < 4; k++)
        records.writeInt32LE((records.readInt32LE(12 * k + 8) & ~0x7fff) | 30, 12 * k + 8)
      cli("SET", "tollgate:token-counts:v2", records.toString("base64"))
      const b = await planJson(file, store, { TOLLGATE_HOME: tempHome() })
      expect(b.json.steps[0].tokens.prompt.expected).toBe(2 * 30)
      // alone, a machine counts for itself
      const alone = await planJson(file, [], { TOLLGATE_HOME: tempHome() })
      expect(alone.json.steps[0].tokens.prompt.expected).toBe(first.json.steps[0].tokens.prompt.expected)
    } finally {
      redis.stop()
    }
  })
})
