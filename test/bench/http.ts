/**
 * Run overhead against HTTP (`pnpm bench http`): the runner beside a raw undici loop, both
 * against the same lean loopback server in its own process, in the same run. N paid requests at
 * concurrency 64: the runner with `--no-cache`, with its response cache, and with a Redis store;
 * each a real `runner run` process of the installed CLI's bundle, measured right after a run of the
 * raw loop that it is compared with. The three are run in rounds (`BENCH_ROUNDS`, 5): each figure
 * is the median of its pairs' ratios, with their range. Throughput is N over the time the server
 * saw from the first request to the last; peak RSS is the process's (`/usr/bin/time`).
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

interface Pair {
  readonly base: Measured
  readonly run: Measured
  readonly before: Measured | undefined
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** The median ratio of the pairs, with their range: "0.81× (0.74–0.88×, 3 pairs)". */
const ratioOf = (pairs: ReadonlyArray<Pair>, pick: (p: Pair) => Measured | undefined): string => {
  const rs = pairs.flatMap((p) => {
    const m = pick(p)
    return m === undefined ? [] : [m.rps / p.base.rps]
  })
  const x = (r: number) => `${r.toFixed(2)}×`
  return `${x(median(rs))} (${x(Math.min(...rs))}–${x(Math.max(...rs))}, ${rs.length} pairs)`
}

const range = (ms: ReadonlyArray<Measured>, f: (m: Measured) => number, unit: string) =>
  `${Math.min(...ms.map(f)).toFixed(0)}–${Math.max(...ms.map(f)).toFixed(0)} ${unit}`

const rps = (m: Measured) => m.rps
const sizes = (ms: ReadonlyArray<Measured>) =>
  `${range(ms, rps, "req/s")}, peak RSS ${range(ms, (m) => m.rssMb, "MB")}`
/** The runs' throughput and size, and their ratios to the raw loop pair by pair. */
const detail = (pairs: ReadonlyArray<Pair>, pick: (p: Pair) => Measured | undefined): string => {
  const ms = pairs.flatMap((p) => pick(p) ?? [])
  const ratios = pairs.map((p) => ((pick(p)?.rps ?? 0) / p.base.rps).toFixed(2))
  return `${sizes(ms)}; pair by pair ${ratios.join(" / ")}× the raw loop beside it`
}

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
    // this machine's speed drifts by a fifth from minute to minute: each runner run is paired with
    // a raw run right before it, and the rounds give the median of several pairs
    const rounds = Number(process.env.BENCH_ROUNDS ?? 5)
    const pairs = new Map<string, Pair[]>(runs.map(([name]) => [name, []]))
    for (let round = 0; round < rounds; round++)
      for (const [name, flags] of runs) {
        const base = await rawLoop(server.url, n, 64)
        const run = await runner(server.url, n, 64, flags)
        const b = before === undefined ? undefined : await runner(server.url, n, 64, flags, before)
        pairs.get(name)!.push({ base, run, before: b })
      }
    for (const [name] of runs) {
      const ps = pairs.get(name)!
      const bases = ps.map((p) => p.base)
      record(`http: raw undici loop, ${n} × 64, beside ${name}`, range(bases, rps, "req/s"), sizes(bases))
      record(
        `http: runner ${name}, ${n} × 64`,
        ratioOf(ps, (p) => p.run),
        detail(ps, (p) => p.run)
      )
      if (before !== undefined)
        record(
          `http: before, ${name}, ${n} × 64`,
          ratioOf(ps, (p) => p.before),
          detail(ps, (p) => p.before)
        )
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
