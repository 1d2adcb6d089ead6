/**
 * `runner run` starts its process again, in place, with a small young generation
 * (`cli/YoungGeneration.ts`): the same process id (a kill or an interrupt still reaches the run),
 * V8's flag set, the run's result unchanged. Other commands start once.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { BIN, tempHome } from "./support/cli.ts"
import { fanOut } from "./support/pipelines.ts"

/** Runs the real executable with a preload that notes each start: its pid and Node flags. */
const started = (argv: ReadonlyArray<string>, nodeOptions?: string, extra: Record<string, string> = {}) => {
  const dir = mkdtempSync(join(tmpdir(), "tg-young-"))
  const log = join(dir, "starts.log")
  const preload = join(dir, "note.mjs")
  writeFileSync(
    preload,
    `import { appendFileSync } from "node:fs"\nappendFileSync(${JSON.stringify(log)}, JSON.stringify({ pid: process.pid, flags: process.execArgv.filter((a) => !a.startsWith("--import")) }) + "\\n")\n`
  )
  writeFileSync(log, "")
  const pipeline = fanOut({ model: "openai/gpt-4o-mini", items: 3 })
  const r = spawnSync(process.execPath, ["--import", preload, BIN, ...argv, pipeline, "--format", "json"], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? "",
      TOLLGATE_HOME: tempHome(),
      ...(nodeOptions !== undefined ? { NODE_OPTIONS: nodeOptions } : {}),
      ...extra
    },
    encoding: "utf8"
  })
  const starts = readFileSync(log, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { pid: number; flags: string[] })
  return { code: r.status, stdout: r.stdout, starts }
}

describe("a run's young generation", () => {
  it("`runner run` starts again in the same process with --max-semi-space-size, and runs as before", () => {
    const r = started(["run", "--echo", "--no-cache", "--out-dir", "runs"])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).actual.requests).toBe(3)
    expect(r.starts).toHaveLength(2)
    expect(r.starts[1]!.pid).toBe(r.starts[0]!.pid)
    expect(r.starts[0]!.flags).not.toContain("--max-semi-space-size=8")
    expect(r.starts[1]!.flags).toContain("--max-semi-space-size=8")
  })

  it("other commands start once; a size the user set is kept; TOLLGATE_REEXEC=0 turns it off", () => {
    const plan = started(["plan"])
    expect(plan.code).toBe(0)
    expect(plan.starts).toHaveLength(1)
    const own = started(["run", "--echo", "--no-cache", "--out-dir", "runs"], "--max-semi-space-size=4")
    expect(own.code).toBe(0)
    expect(own.starts).toHaveLength(1)
    const off = started(["run", "--echo", "--no-cache", "--out-dir", "runs"], undefined, {
      TOLLGATE_REEXEC: "0"
    })
    expect(off.code).toBe(0)
    expect(off.starts).toHaveLength(1)
  })
})
