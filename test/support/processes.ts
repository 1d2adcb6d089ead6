/** Real runner processes for end-to-end tests, and waiting for what they do. */
import { spawn } from "node:child_process"
import { BIN } from "./cli.ts"

/** Starts `runner args…` as a real process; resolves with its exit code (null when killed). */
export const start = (args: string[], cwd: string, env: Record<string, string>) => {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: "ignore"
  })
  const done = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
  return { child, done }
}

/** Waits (polling) until `cond` holds, or fails after `timeoutMs`. */
export const until = async (cond: () => boolean, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("timed out waiting")
    await new Promise((r) => setTimeout(r, 10))
  }
}
