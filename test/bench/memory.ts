/**
 * A run's memory as the job grows (`pnpm bench memory`): the installed CLI's bundle (built first)
 * runs an echo fan-out of 1,000 / 10,000 / 100,000 items (`--echo --no-cache`: no network, so the
 * figure is the runner's own), as a process, with its peak RSS; the growth per item is taken
 * between the last two sizes. `node -e 0` in the same run is the floor of any Node process.
 */
import { spawnSync } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { fanOut } from "../support/pipelines.ts"
import { bundledRunner } from "./bundle.ts"

type Record = (name: string, value: string, detail: string) => void
const ROOT = fileURLToPath(new URL("../../", import.meta.url))

/** Peak RSS (MB) and wall time (s) of a command. */
const measure = (argv: ReadonlyArray<string>, cwd: string, env: NodeJS.ProcessEnv) => {
  const r = spawnSync("/usr/bin/time", ["-f", "%M %e", ...argv], {
    cwd,
    env,
    encoding: "utf8",
    maxBuffer: 1 << 28
  })
  if (r.status !== 0) throw new Error(`${argv.join(" ")} exited ${r.status}: ${r.stderr.slice(-500)}`)
  const [kb, s] = r.stderr.trim().split("\n").at(-1)!.split(" ").map(Number)
  return { mb: kb! / 1024, s: s! }
}

export const memoryBench = (
  record: Record,
  sizes: ReadonlyArray<number> = [1_000, 10_000, 100_000]
): void => {
  const bin = bundledRunner()
  const floor = measure([process.execPath, "-e", "0"], ROOT, process.env)
  const peaks: Array<[number, number]> = []
  // BENCH_BEFORE=<a checkout's packages/runner/dist/bundle/bin.js>: that build too, on the same items, in the same run
  const before = process.env.BENCH_BEFORE
  const runOf = (runner: string, n: number) => {
    const dir = dirname(
      fanOut({ model: "openai/gpt-4o-mini", items: n, extra: "limits: { concurrency: 64 }" })
    )
    const env = { PATH: process.env.PATH ?? "", TOLLGATE_HOME: join(dir, "state") }
    const argv = ["run", "pipeline.yaml", "--echo", "--no-cache", "--format", "json", "--out-dir", "runs"]
    return measure([process.execPath, runner, ...argv], dir, env)
  }
  for (const n of sizes) {
    const m = runOf(bin, n)
    peaks.push([n, m.mb])
    record(
      `memory: run ${n.toLocaleString("en-US")} items (echo)`,
      `${m.mb.toFixed(0)} MB`,
      `peak RSS of the runner process, ${m.s.toFixed(1)} s; node -e 0: ${floor.mb.toFixed(0)} MB`
    )
    if (before === undefined) continue
    const b = runOf(before, n)
    record(
      `memory: before, ${n.toLocaleString("en-US")} items (echo)`,
      `${b.mb.toFixed(0)} MB`,
      `peak RSS of the build named by BENCH_BEFORE, ${b.s.toFixed(1)} s`
    )
  }
  const [[n1, m1], [n2, m2]] = peaks.slice(-2) as [[number, number], [number, number]]
  record(
    "memory: growth per item",
    `${(((m2 - m1) * 1024 * 1024) / (n2 - n1) / 1024).toFixed(2)} KB`,
    `between ${n1.toLocaleString("en-US")} and ${n2.toLocaleString("en-US")} items (goal ≤ 1 KB; 100,000 items ≤ 300 MB)`
  )
}
