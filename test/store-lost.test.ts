/**
 * The store goes away mid-run (redis-server killed): the runner stops sending at once, records
 * what was in flight, exits 1 with one line naming the store; after the store is back, a resume
 * finishes with nothing paid twice. Real runner processes, a real redis-server.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { BIN, runBin, tempHome } from "./support/cli.ts"
import { until } from "./support/processes.ts"
import { type RedisServer, startRedis } from "./support/redis.ts"
import { type Simulator, startSimulator } from "./support/simulator.ts"

let cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const f of cleanup) await f()
  cleanup = []
})

const FAN = (model: string, n: number) =>
  `version: 1\nname: lost\naccount: { credits_purchased_usd: 10 }\nlimits: { free: { rpm: 6000 } }\ninputs:\n  xs: { type: array, default: [${Array.from({ length: n }, (_, i) => i).join(", ")}] }\nsteps:\n  - { id: a, for_each: inputs.xs, model: ${model}, prompt: "item {{ item }}", max_tokens: 5 }\n`

describe("a store lost mid-run", () => {
  it.each([
    ["a free model (limits, ledger and cache in the store)", "openai/gpt-oss-20b:free", []],
    ["a paid model with only the cache in the store", "openai/gpt-4o-mini", []],
    ["a paid model with --no-cache (budget pool in the store)", "openai/gpt-4o-mini", ["--no-cache"]]
  ])(
    "%s: stops sending, exits 1 naming the store, and a resume pays for nothing twice",
    async (_, model, extra) => {
      const redis: RedisServer = await startRedis()
      cleanup.push(() => redis.stop())
      const s: Simulator = await startSimulator({ latencyMs: 150 })
      cleanup.push(() => s.close())
      const dir = mkdtempSync(join(tmpdir(), "tg-lost-"))
      const yaml = FAN(model, 30)
      writeFileSync(
        join(dir, "p.yaml"),
        extra.includes("--no-cache")
          ? yaml.replace("steps:", "budget: { max_cost_usd: 1, shared: team }\nsteps:")
          : yaml
      )
      const home = tempHome()
      const args = (store: string) => [
        "run",
        "p.yaml",
        "--base-url",
        s.url,
        "--concurrency",
        "2",
        "--out-dir",
        "runs",
        "--store",
        store,
        ...extra
      ]
      const child = spawn(process.execPath, [BIN, ...args(redis.url)], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? "", TOLLGATE_HOME: home },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let stderr = ""
      child.stderr.on("data", (d) => {
        stderr += d
      })
      const exit = new Promise<number | null>((r) => child.on("close", r))
      await until(() => s.log.length >= 4)
      redis.stop()
      const killedAt = Date.now()
      expect(await exit).toBe(1)
      // no request sent more than a moment after the store went away
      const late = s.log.filter((a) => a.at > killedAt + 1000)
      expect(late).toHaveLength(0)
      const lastLine = stderr.trimEnd().split("\n").at(-1)!
      expect(lastLine).toMatch(/^stopped: lost the store redis:\/\/127\.0\.0\.1:\d+: /)
      expect(stderr).not.toMatch(/\n\s+at |internal error/)
      const before = s.successes().length
      expect(before).toBeLessThan(30)

      const again: RedisServer = await startRedis()
      cleanup.push(() => again.stop())
      const resumed = await runBin([...args(again.url), "--format", "json"], {
        cwd: dir,
        env: { TOLLGATE_HOME: home }
      })
      expect(resumed.code).toBe(0)
      const paid = s.successes()
      expect(new Set(paid.map((a) => a.key)).size).toBe(30)
      expect(paid).toHaveLength(30) // every answer bought exactly once, those in flight at the loss included
      expect(JSON.parse(resumed.stdout).actual.reused).toBe(before)
    }
  )
})
