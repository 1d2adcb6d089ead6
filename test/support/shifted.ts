/**
 * A runner process whose wall clock the test moves (a preload shifts `Date` by the offset in a
 * file), so a run that waits for a reset can be carried past it without waiting.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { BIN } from "./cli.ts"

export const CLOCK = pathToFileURL(fileURLToPath(new URL("./clock.mjs", import.meta.url))).href

/** A runner whose clock the test moves (by writing the offset file). */
export const startShifted = (dir: string, args: string[], home: string, env: Record<string, string> = {}) => {
  const clock = join(dir, "clock-offset")
  writeFileSync(clock, "0")
  const child: ChildProcess = spawn(process.execPath, [BIN, ...args], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? "",
      TOLLGATE_HOME: home,
      TOLLGATE_TEST_CLOCK_FILE: clock,
      NODE_OPTIONS: `--import=${CLOCK}`,
      ...env
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stderr = ""
  child.stderr!.on("data", (d) => {
    stderr += d
  })
  const done = new Promise<number | null>((r) => child.on("close", r))
  const waits = () => [...stderr.matchAll(/waiting until (\S+Z) \(in/g)].map((m) => Date.parse(m[1]!))
  /** Moves the runner's clock to just past `atMs`. */
  const jumpPast = (atMs: number) => writeFileSync(clock, String(atMs + 2_000 - Date.now()))
  return { child, done, waits, jumpPast, stderr: () => stderr, clock }
}
