/**
 * Run overhead against HTTP (`pnpm bench http`): the runner beside a raw undici loop, both
 * against the same lean loopback server in its own process, in the same run. N paid requests at
 * concurrency 64: the runner with `--no-cache`, with its response cache, and with a Redis store;
 * each a real `runner run` process of the installed CLI's bundle, measured right after a run of the
 * raw loop that it is compared with. Throughput is N over the time the server saw from the first
 * request to the last; peak RSS is the process's (`/usr/bin/time`).
 */
import { spawn, spawnSync } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { fanOut } from "../support/pipelines.ts"
import { startRedis } from "../support/redis.ts"
import { bundledRunner } from "./bundle.ts"

type Record = (name: string, value: string, detail: string) => void
const here = fileURLToPath(new URL(".", import.meta.url))

const startServer = (): Promise<{ url: string; stop: () => void }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, "loopback-server.ts")], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    child.stdout.once("data", (d: Buffer) =>
      resolve({ url: `http://127.0.0.1:${d.toString().trim()}`, stop: () => child.kill() })
    )
    child.once("error", reject)
  })

/** A command under /usr/bin/time: its stdout and peak RSS in MB. */
const timed = (argv: ReadonlyArray<string>, env: NodeJS.ProcessEnv, cwd?: string) => {
  const r = spawnSync("/usr/bin/time", ["-f", "%M", ...argv], {
    env,
    cwd,
    encoding: "utf8",
    maxBuffer: 1 << 28
  })
  const lines = r.stderr.trim().split("\n")
  if (r.status !== 0) throw new Error(`${argv.join(" ")} exited ${r.status}: ${r.stderr.slice(-2000)}`)
  return { stdout: r.stdout, rssMb: Number(lines[lines.length - 1]) / 1024 }
}

export interface Measured {
  readonly rps: number
  readonly wallMs: number
  readonly rssMb: number
  /** One at a time: the server's gaps between arrivals (a round trip plus the client's own time), p50 and p99. */
  readonly gaps: readonly [number, number]
}

interface Stats {
  readonly count: number
  readonly first: number
  readonly last: number
  readonly gaps: [number, number]
}

const stats = async (url: string) => (await (await fetch(`${url}/stats`)).json()) as Stats
const reset = (url: string) => fetch(`${url}/reset`, { method: "POST" })
const measured = (s: Stats, wallMs: number, rssMb: number): Measured => ({
  rps: (s.count / (s.last - s.first)) * 1000,
  wallMs,
  rssMb,
  gaps: s.gaps
})

const rawLoop = async (url: string, n: number, concurrency: number): Promise<Measured> => {
  await reset(url)
  const out = timed(
    [process.execPath, join(here, "raw-loop.ts"), `${url}/v1`, String(n), String(concurrency)],
    process.env
  )
  return measured(await stats(url), (JSON.parse(out.stdout) as { ms: number }).ms, out.rssMb)
}

const runner = async (
  url: string,
  n: number,
  concurrency: number,
  flags: ReadonlyArray<string>,
  bin = bundledRunner()
): Promise<Measured> => {
  const dir = dirname(
    fanOut({
      model: "openai/gpt-4o-mini",
      items: n,
      extra: "limits: { concurrency: 64 }\nprovider: { kind: openai }"
    })
  )
  await reset(url)
  const env = {
    PATH: process.env.PATH ?? "",
    TOLLGATE_HOME: join(dir, "state"),
    OPENROUTER_API_KEY: "sk-bench"
  }
  const argv = ["run", "pipeline.yaml", "--base-url", `${url}/v1`, "--format", "json", "--out-dir", "runs"]
  const t0 = performance.now()
  const out = timed(
    [process.execPath, bin, ...argv, "--concurrency", String(concurrency), ...flags],
    env,
    dir
  )
  const wallMs = performance.now() - t0
  const summary = JSON.parse(out.stdout) as { actual: { requests: number } }
  const s = await stats(url)
  if (summary.actual.requests !== n || s.count !== n)
    throw new Error(`runner sent ${s.count} of ${n} (${summary.actual.requests} in its summary)`)
  return measured(s, wallMs, out.rssMb)
}

const ms = (x: number) => x.toFixed(2)
const fmt = (m: Measured, base?: Measured) =>
  `${m.rps.toFixed(0)} req/s, wall ${(m.wallMs / 1000).toFixed(2)} s, peak RSS ${m.rssMb.toFixed(0)} MB${base ? `, ${(m.rps / base.rps).toFixed(2)}× the raw loop's ${base.rps.toFixed(0)} req/s` : ""}`

export const httpBench = async (record: Record, n = 10_000): Promise<void> => {
  bundledRunner() // built before anything is timed
  const server = await startServer()
  const redis = await startRedis()
  try {
    await rawLoop(server.url, 500, 64) // warm the server
    const runs: Array<[string, ReadonlyArray<string>]> = [
      ["--no-cache", ["--no-cache"]],
      ["with its cache", []],
      ["--store redis", ["--no-cache", "--store", redis.url]]
    ]
    // BENCH_BEFORE=<a checkout's packages/runner/dist/bundle/bin.js>: that build too, in the same run
    const before = process.env.BENCH_BEFORE
    for (const [name, flags] of runs) {
      // the raw loop again beside each: this machine's speed drifts by a fifth from minute to minute
      const base = await rawLoop(server.url, n, 64)
      record(`http: raw undici loop, ${n} × 64, beside ${name}`, `${base.rps.toFixed(0)} req/s`, fmt(base))
      const m = await runner(server.url, n, 64, flags)
      record(`http: runner ${name}, ${n} × 64`, `${(m.rps / base.rps).toFixed(2)}×`, fmt(m, base))
      if (before === undefined) continue
      const b = await runner(server.url, n, 64, flags, before)
      record(`http: before, ${name}, ${n} × 64`, `${(b.rps / base.rps).toFixed(2)}×`, fmt(b, base))
    }
    // one at a time: what the runner adds to each request's round trip
    const one = 300
    const rawOne = await rawLoop(server.url, one, 1)
    const runOne = await runner(server.url, one, 1, ["--no-cache"])
    record(
      `http: added per request, ${one} × 1`,
      `${ms(runOne.gaps[0] - rawOne.gaps[0])} / ≤ ${ms(runOne.gaps[1])} ms`,
      `p50: the runner's gap between requests less the raw loop's (${ms(runOne.gaps[0])} − ${ms(rawOne.gaps[0])} ms); p99: the runner's whole p99 gap, round trip included, bounds what it adds (raw loop's p99 ${ms(rawOne.gaps[1])} ms)`
    )
  } finally {
    server.stop()
    redis.stop()
  }
}
