/**
 * Benchmarks (`pnpm bench`): timings are reported, never asserted. Each prints one line:
 * name, measured value, and what was done, so numbers in docs can be reproduced.
 */
import { readFileSync } from "node:fs"
import { performance } from "node:perf_hooks"
import { CatalogStore } from "@tollgate/core"
import { Cost, Money } from "@tollgate/pricing"

const results: Array<{ name: string; value: string; detail: string }> = []
const record = (name: string, value: string, detail: string) => {
  results.push({ name, value, detail })
  console.log(`${name.padEnd(36)} ${value.padStart(14)}  ${detail}`)
}

/** `pnpm bench [name…]`: only the sections named (catalog, cost, plan, plan-1m, pacing, limits, run, memory, http, cache, tokens, coverage, start-up). */
const only = process.argv.slice(2)
const want = (section: string) => only.length === 0 || only.includes(section)

const time = <T>(f: () => T): [T, number] => {
  const t0 = performance.now()
  const out = f()
  return [out, performance.now() - t0]
}

// Catalog: parse + schema-decode the bundled snapshot.
if (want("catalog")) {
  const text = readFileSync(CatalogStore.bundledPath(), "utf8")
  const [catalog, ms] = time(() => CatalogStore.fromText(text, CatalogStore.bundledPath()))
  record("catalog decode (bundled)", `${ms.toFixed(1)} ms`, `${catalog.size} models`)
}

// Cost: exact cost of 100,000 requests, summed exactly.
if (want("cost")) {
  const catalog = CatalogStore.bundled()
  const model = catalog.resolveOrThrow("google/gemini-3.7-flash").model
  const n = 100_000
  const at = new Date()
  const [total, ms] = time(() => {
    let acc = Money.zero
    for (let i = 0; i < n; i++)
      acc = Money.add(
        acc,
        Cost.cost(model, { promptTokens: 1000 + (i % 97), cacheWriteTokens: 12, completionTokens: 200 }, at)
          .total
      )
    return acc
  })
  record(
    "cost + exact sum",
    `${((n / ms) * 1000).toFixed(0)} req/s`,
    `${n} requests, total ${Money.format(total)}`
  )
}

// Plan at scale, fresh and warm, beside the tokenizer alone, at 1k / 10k / 100k items (test/bench/plan.ts).
if (want("plan")) {
  const { planBench, planProcesses } = await import("./plan.ts")
  await planBench(record, [1_000, 10_000, 100_000])
  await planProcesses(record)
}

// A million-item plan as a runner process, with its peak RSS (test/bench/plan.ts).
if (want("plan-1m")) {
  const { planMillion } = await import("./plan.ts")
  await planMillion(record)
}

// Pacing: free-model fan-outs against a simulator allowing 20 per 20 s window (OpenRouter's 20 per
// 60 s, scaled; the default 1% margin), in 1, 2 and 8 real runner processes on one key (several
// share Redis). Wall: first to last request at the simulator. Ideal: the same requests under the
// same rule with no margin and no jitter, each ready when its process started its run (processes
// that start together on two cores can be seconds apart; that is start-up, not pacing).
if (want("pacing")) {
  const { mkdtempSync, readdirSync, readFileSync } = await import("node:fs")
  const { tmpdir } = await import("node:os")
  const { dirname, join } = await import("node:path")
  const { startSimulator } = await import("../support/simulator.ts")
  const { fanOut } = await import("../support/pipelines.ts")
  const { start } = await import("../support/processes.ts")
  const { startRedis } = await import("../support/redis.ts")
  const redis = await startRedis()
  const model = "openai/gpt-oss-20b:free"
  const [limit, windowMs] = [20, 20_000]
  /** When the run in `out` started (its first `run-start` event). */
  const startedAt = (out: string) => {
    const dir = readdirSync(out).find((d) => !d.endsWith(".json"))!
    const line = readFileSync(join(out, dir, "events.ndjson"), "utf8")
      .split("\n")
      .find((l) => l.includes('"run-start"'))!
    return Date.parse(JSON.parse(line).ts)
  }
  /** The ideal schedule: each request at its ready time, or when the window has room. */
  const idealMs = (ready: number[]) => {
    const sent: number[] = []
    for (const r of [...ready].sort((a, b) => a - b))
      sent.push(sent.length < limit ? r : Math.max(r, sent[sent.length - limit]! + windowMs))
    return Math.max(...sent) - Math.min(...sent)
  }
  for (const [processes, items] of [
    [1, 25],
    [2, 15],
    [8, 5]
  ] as const) {
    const sim = await startSimulator({ rpm: { [model]: limit }, windowMs })
    const outs: string[] = []
    const runs = Array.from({ length: processes }, (_, i) => {
      const file = fanOut({
        model,
        items,
        maxTokens: 10 + i,
        extra: `limits: { window: ${windowMs / 1000}s }\naccount: { credits_purchased_usd: 10 }`
      })
      const out = join(dirname(file), "runs")
      outs.push(out)
      const args = ["run", file, "--base-url", sim.url, "--no-cache", "--out-dir", out]
      return start(processes > 1 ? [...args, "--store", redis.url] : args, dirname(file), {
        OPENROUTER_API_KEY: `sk-bench-pacing-${processes}`, // one key per scenario: its own windows
        TOLLGATE_HOME: mkdtempSync(join(tmpdir(), "tg-bench-"))
      }).done
    })
    await Promise.all(runs)
    const times = sim.log.map((a) => a.at)
    const wall = Math.max(...times) - Math.min(...times)
    const ideal = idealMs(outs.flatMap((out) => Array(items).fill(startedAt(out))))
    const limited = sim.log.filter((a) => a.status === 429).length
    await sim.close()
    record(
      `pacing: ${processes} × ${items} at ${limit} per ${windowMs / 1000} s`,
      `${(wall / ideal).toFixed(3)} × ideal`,
      `${wall} ms vs ideal ${ideal} ms, ${limited} 429s, ${sim.successes().length} answered${processes > 1 ? ", one Redis" : ""}`
    )
  }
  redis.stop()
}

// The provider's 2026 rules: the in-flight spending budget, a limit nobody stated, and a limit
// learned from one 429 on a shared store, each beside its baseline in the same run.
if (want("limits")) {
  const { mkdtempSync } = await import("node:fs")
  const { tmpdir } = await import("node:os")
  const { dirname, join } = await import("node:path")
  const { startSimulator } = await import("../support/simulator.ts")
  const { fanOut } = await import("../support/pipelines.ts")
  const { start } = await import("../support/processes.ts")
  const { startRedis } = await import("../support/redis.ts")
  const model = "openai/gpt-4o-mini"
  const runAgainst = async (
    sim: { url: string },
    items: number,
    opts: { maxTokens?: number; extra?: string; args?: string[]; key?: string } = {}
  ) => {
    const file = fanOut({ model, items, maxTokens: opts.maxTokens ?? 10, extra: opts.extra ?? "" })
    const t0 = performance.now()
    const code = await start(
      [
        "run",
        file,
        "--base-url",
        sim.url,
        "--no-cache",
        "--out-dir",
        join(dirname(file), "runs"),
        ...(opts.args ?? [])
      ],
      dirname(file),
      {
        OPENROUTER_API_KEY: opts.key ?? `sk-bench-${Math.random()}`,
        TOLLGATE_HOME: mkdtempSync(join(tmpdir(), "tg-bench-"))
      }
    ).done
    return { code, ms: performance.now() - t0 }
  }
  // in-flight budget for about three requests, 30 items at concurrency 8, 150 ms a reply
  const estimate = (12 * 0.15 + 1000 * 0.6) / 1e6
  const tight = await startSimulator({ inFlightBudgetUsd: estimate * 3.2, latencyMs: 150 })
  const free = await startSimulator({ latencyMs: 150 })
  const a = await runAgainst(tight, 30, { maxTokens: 1000, args: ["--concurrency", "8"] })
  const b = await runAgainst(free, 30, { maxTokens: 1000, args: ["--concurrency", "3"] })
  const keys = tight.successes().map((x) => x.key)
  record(
    "in-flight budget ~3 requests, 30 items",
    `${tight.log.filter((x) => x.status === 402).length} refused`,
    `exit ${a.code}, ${tight.successes().length} answered, ${new Set(keys).size === keys.length ? "each billed once" : "BILLED TWICE"}, ${(a.ms / 1000).toFixed(2)} s beside ${(b.ms / 1000).toFixed(2)} s at concurrency 3 with no budget (goal ≤ 6 refused)`
  )
  await Promise.all([tight.close(), free.close()])
  // a provider allowing 3 per 4 s that states no limit, 12 requests, no configured limit
  const strict = await startSimulator({ rpm: { [model]: 3 }, windowMs: 4000, unstatedLimit: true })
  const c = await runAgainst(strict, 12, { args: ["--concurrency", "8"] })
  record(
    "unstated 3 per 4 s, 12 requests",
    `${strict.log.filter((x) => x.status === 429).length} refused`,
    `exit ${c.code}, ${(c.ms / 1000).toFixed(1)} s beside the ideal 12.0 s (bursts of 3, 4 s apart) (goal ≤ 4 refused)`
  )
  await strict.close()
  // one 429 on a shared store (the provider one stricter for one run), then a run on a normal
  // provider; beside it, the same two runs on another key with no 429 (the same window state)
  const redis = await startRedis()
  const [limit, windowMs] = [20, 5_000]
  const extra = `limits: { window: ${windowMs / 1000}s, models: { ${model}: { rpm: ${limit} } } }`
  const twoRuns = async (firstLimit: number, key: string) => {
    const first = await startSimulator({ rpm: { [model]: firstLimit }, windowMs })
    await runAgainst(first, 40, { extra, args: ["--store", redis.url], key })
    await first.close()
    // the next run comes a window later, when the first run's sends have left the window
    await new Promise((r) => setTimeout(r, windowMs + 200))
    const normal = await startSimulator({ rpm: { [model]: limit }, windowMs })
    await runAgainst(normal, 60, { extra, args: ["--store", redis.url], key })
    const times = normal.log.map((x) => x.at)
    await normal.close()
    return {
      wall: Math.max(...times) - Math.min(...times),
      refused: normal.log.filter((x) => x.status === 429).length
    }
  }
  const learned = await twoRuns(limit - 1, "sk-bench-recover")
  const baseline = await twoRuns(limit, "sk-bench-baseline")
  record(
    "after one 429 on a shared store",
    `${(learned.wall / baseline.wall).toFixed(3)} × baseline`,
    `the next run's 60 requests at ${limit} per ${windowMs / 1000} s: ${learned.wall} ms (${learned.refused} 429s) beside ${baseline.wall} ms with no 429 before it (goal ≤ 1.05×)`
  )
  redis.stop()
}

// Run throughput: a 20,000-item fan-out against the local echo provider (engine + records + cache).
if (want("run")) {
  const { mkdtempSync } = await import("node:fs")
  const { tmpdir } = await import("node:os")
  const { join } = await import("node:path")
  const { Effect } = await import("effect")
  const { run } = await import("@tollgate/runner")
  const { fanOut } = await import("../support/pipelines.ts")
  const n = 20_000
  const file = fanOut({ model: "openai/gpt-4o-mini", items: n, extra: "limits: { concurrency: 64 }" })
  const home = mkdtempSync(join(tmpdir(), "tg-bench-"))
  let peak = process.memoryUsage().rss
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 20)
  const t0 = performance.now()
  const result = await Effect.runPromise(
    run(file, { env: { TOLLGATE_HOME: home }, baseUrl: "echo:", outDir: join(home, "runs") })
  )
  const ms = performance.now() - t0
  clearInterval(timer)
  const done = result.kind === "ran" ? result.summary.actual.requests : 0
  record(
    "run 20,000-item fan-out (echo)",
    `${((done / ms) * 1000).toFixed(0)} req/s`,
    `${done} requests in ${(ms / 1000).toFixed(1)} s, peak RSS ${(peak / 1024 / 1024).toFixed(0)} MB`
  )
}

// A run's peak RSS at 1k / 10k / 100k items, the installed CLI's bundle (test/bench/memory.ts).
if (want("memory")) {
  const { memoryBench } = await import("./memory.ts")
  memoryBench(record)
}

// Run overhead against a loopback HTTP server, beside a raw undici loop (test/bench/http.ts).
if (want("http")) {
  const { httpBench } = await import("./http.ts")
  await httpBench(record)
}

// The plan's figures against the provider's bill, over runs that teach it (test/bench/coverage.ts).
if (want("coverage")) {
  const { coverage } = await import("./coverage.ts")
  await coverage(record)
}

// The response cache at 100,000 entries: set, get, and a new process's first set (index vs scan).
if (want("cache")) {
  const { cacheBench } = await import("./cache.ts")
  cacheBench(record)
}

// Token counting of text without whitespace (base64, minified JSON, hashes): counted in pieces
// (linear) beside the tokenizer as is (quadratic in the run's length), on the same 64 KB.
if (want("tokens")) {
  const { countTokens } = await import("gpt-tokenizer/encoding/o200k_base")
  const { expectedTokens } = await import("@tollgate/runner/plan/TokenEstimate")
  const { randomBytes } = await import("node:crypto")
  // one character repeated: the tokenizer's worst case (a run of "=" padding, a line of dashes)
  const text = "x".repeat(64 * 1024)
  const [asIs, baseline] = time(() => countTokens(text))
  const [pieces, ms] = time(() => expectedTokens(text))
  const mb = randomBytes(768 * 1024).toString("base64") + "=".repeat(64 * 1024)
  const [, msMb] = time(() => expectedTokens(mb))
  record(
    "tokens, 64 KB without whitespace",
    `${ms.toFixed(0)} ms`,
    `vs ${baseline.toFixed(0)} ms for the tokenizer as is (${pieces} vs ${asIs} tokens); 1 MB in ${msMb.toFixed(0)} ms`
  )
}

// Start-up of the installed CLI (packed, installed with npm outside the workspace), each command
// beside `node -e 0` in the same run: median wall time of 7 runs after a warm-up, peak RSS.
if (want("start-up")) {
  const { execFileSync, spawnSync } = await import("node:child_process")
  const { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } = await import("node:fs")
  const { join } = await import("node:path")
  const root = new URL("../../", import.meta.url).pathname
  const dir = join(root, ".bench", "installed")
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(join(dir, "packs"), { recursive: true })
  execFileSync("pnpm", ["-r", "run", "build"], { cwd: root, stdio: "ignore" })
  execFileSync(
    "pnpm",
    ["--filter", "./packages/*", "exec", "pnpm", "pack", "--pack-destination", join(dir, "packs")],
    {
      cwd: root,
      stdio: "ignore"
    }
  )
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "bench", private: true, type: "module" }))
  const packs = readdirSync(join(dir, "packs")).map((f) => join(dir, "packs", f))
  execFileSync("npm", ["install", "--silent", "--no-audit", "--no-fund", ...packs], {
    cwd: dir,
    stdio: "ignore"
  })
  cpSync(join(root, "examples", "summarize-articles.yaml"), join(dir, "summarize-articles.yaml"))
  cpSync(join(root, "examples", "data"), join(dir, "data"), { recursive: true })
  const runner = join(dir, "node_modules", ".bin", "runner")
  const hasTime = existsSync("/usr/bin/time")
  let fresh = 0
  // `cold`: a state dir of its own each time (no memo of token counts, as on a new machine)
  const once = (argv: ReadonlyArray<string>, cold = false) => {
    const home = cold ? join(dir, `state-${fresh++}`) : join(dir, "state")
    const t0 = performance.now()
    const r = hasTime
      ? spawnSync("/usr/bin/time", ["-f", "%M", ...argv], {
          cwd: dir,
          encoding: "utf8",
          env: { ...process.env, TOLLGATE_HOME: home }
        })
      : spawnSync(argv[0]!, argv.slice(1), { cwd: dir, encoding: "utf8" })
    const ms = performance.now() - t0
    const kb = hasTime ? Number(r.stderr.trim().split("\n").at(-1)) : Number.NaN
    return { ms, mb: kb / 1024 }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const measure = (argv: ReadonlyArray<string>, cold = false) => {
    once(argv) // warm-up (and the compile cache)
    const runs = Array.from({ length: 7 }, () => once(argv, cold))
    return { ms: median(runs.map((r) => r.ms)), mb: Math.max(...runs.map((r) => r.mb)) }
  }
  const baseline = measure([process.execPath, "-e", "0"])
  for (const [name, args, cold] of [
    ["--version", ["--version"], false],
    ["validate (an example)", ["validate", "summarize-articles.yaml"], false],
    ["plan (an example), texts counted before", ["plan", "summarize-articles.yaml"], false],
    ["plan (an example), first time", ["plan", "summarize-articles.yaml"], true],
    ["run --help", ["run", "--help"], false]
  ] as const) {
    const m = measure([process.execPath, runner, ...args], cold === true)
    record(
      `start-up: runner ${name}`,
      `${m.ms.toFixed(0)} ms`,
      `peak RSS ${m.mb.toFixed(0)} MB; node -e 0 beside it: ${baseline.ms.toFixed(0)} ms, ${baseline.mb.toFixed(0)} MB`
    )
  }
}
