/**
 * The live display in a real terminal: the runner as a real process inside tmux at 60 and 120
 * columns, waiting on a rate limit. The block fits the width, says what it waits for and until
 * when (the reason whole, wrapped if need be), and keeps moving while nothing else happens.
 */
import { spawnSync } from "node:child_process"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BIN, tempHome } from "./support/cli.ts"
import { writeDir } from "./support/pipelines.ts"
import { until } from "./support/processes.ts"
import { type Simulator, startSimulator } from "./support/simulator.ts"

const FREE = "openai/gpt-oss-20b:free"
const SOCKET = `tg-test-${process.pid}`

const tmux = (...args: string[]) => spawnSync("tmux", ["-L", SOCKET, ...args], { encoding: "utf8" })
const pane = (session: string): string[] =>
  tmux("capture-pane", "-p", "-t", session)
    .stdout.split("\n")
    .map((l) => l.trimEnd())
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

let sim: Simulator
beforeAll(async () => {
  sim = await startSimulator({ latencyMs: 20 })
})
afterAll(async () => {
  tmux("kill-server")
  await sim?.close()
})

describe.concurrent("the progress display in tmux", () => {
  it.each([60, 120])(
    "at %i columns: fits, names the limit it waits for and until when, and ticks while waiting",
    async (columns) => {
      const dir = writeDir({
        "items.jsonl": `${Array.from({ length: 8 }, (_, i) => JSON.stringify({ text: `note ${i}` })).join("\n")}\n`,
        "p.yaml": [
          "version: 1",
          "name: tty",
          "inputs:",
          "  notes: { type: array, from: items.jsonl }",
          "account: { credits_purchased_usd: 10 }",
          `limits: { window: 4s, window_margin: 100ms, models: { "${FREE}": { rpm: 3 } } }`,
          "steps:",
          "  - id: summarize",
          "    for_each: inputs.notes",
          `    model: ${FREE}`,
          '    prompt: "Summarize {{ item.text }}"',
          "    max_tokens: 20",
          ""
        ].join("\n")
      })
      const session = `w${columns}`
      const command = [
        process.execPath,
        BIN,
        "run",
        "p.yaml",
        "--base-url",
        sim.url,
        "--settle",
        "off",
        "--out-dir",
        "runs"
      ]
        .map(quote)
        .join(" ")
      const started = tmux(
        "new-session",
        "-d",
        "-s",
        session,
        "-x",
        String(columns),
        "-y",
        "20",
        "-c",
        dir,
        "-e",
        `TOLLGATE_HOME=${tempHome()}`,
        "-e",
        "OPENROUTER_API_KEY=sk-or-v1-tty-test",
        `${command}; echo EXIT=$?; sleep 60`
      )
      expect(started.status, started.stderr).toBe(0)

      // the first three went; the fourth waits for the window
      await until(() => {
        const shown = pane(session).join(" ")
        return shown.includes(" waits ") && shown.includes("summarize 3/8")
      }, 15_000)
      const first = pane(session).filter((l) => l !== "")
      await new Promise((r) => setTimeout(r, 1_600))
      const later = pane(session).filter((l) => l !== "")

      for (const line of [...first, ...later]) expect(line.length).toBeLessThan(columns)
      const text = first.join(" ")
      expect(text).toContain("summarize 3/8")
      expect(text).toMatch(/waits \d+s \(until \d\d:\d\d:\d\dZ\) for 3 per 4 s/)
      // the clock moved with no event: the timer redraws
      const elapsed = (lines: string[]) => lines.find((l) => l.includes(" elapsed"))
      expect(elapsed(first)).toBeDefined()
      expect(elapsed(later)).not.toBe(elapsed(first))

      await until(() => pane(session).some((l) => l.startsWith("EXIT=")), 40_000)
      const end = pane(session)
      expect(end).toContain("EXIT=0")
      // the block is gone: the summary stands alone
      expect(end.join("\n")).not.toMatch(/ elapsed · /)
      expect(join(dir, "runs")).toBeTruthy()
    },
    60_000
  )
})
