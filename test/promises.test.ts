/**
 * The three promises at the edges, end to end with real runner processes against the simulator:
 * nothing past the budget, nothing paid twice, nothing secret leaves the machine.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { runBin, tempHome } from "./support/cli.ts"
import { type Quote, type Simulator, startSimulator } from "./support/simulator.ts"

let sims: Simulator[] = []
afterEach(async () => {
  await Promise.all(sims.map((s) => s.close()))
  sims = []
})
const sim = async (opts: Parameters<typeof startSimulator>[0] = {}) => {
  const s = await startSimulator(opts)
  sims.push(s)
  return s
}

const write = (files: Record<string, string>) => {
  const dir = mkdtempSync(join(tmpdir(), "tg-promise-"))
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
  return dir
}

/** Every file's text under `dir`. */
const texts = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? texts(p) : [readFileSync(p, "utf8")]
  })

const KEY = "sk-or-v1-HOSTILE-0123456789abcdef"

describe("no key leaves the machine", () => {
  it.each<Quote>(["400", "401", "429", "500", "200-error", "detail", "text", "header"])(
    "an endpoint that quotes the key back (%s): not in output, errors, events, records or state",
    async (shape) => {
      const s = await sim({ quoteKey: (n) => (n === 1 ? shape : undefined) })
      const home = tempHome()
      const dir = write({
        "p.yaml":
          "version: 1\nname: q\nprovider: { api_key_env: MY_KEY }\nsteps:\n  - { id: a, model: openai/gpt-4o-mini, prompt: hi, max_tokens: 5, continue_on_error: true, retry: { max_attempts: 2 } }\n"
      })
      const r = await runBin(["run", "p.yaml", "--base-url", s.url, "--no-cache", "--out-dir", "runs"], {
        cwd: dir,
        env: { TOLLGATE_HOME: home, MY_KEY: KEY }
      })
      expect(s.log[0]!.authorization).toBe(`Bearer ${KEY}`) // the endpoint did see it and quote it
      expect(r.stdout + r.stderr).not.toContain(KEY)
      for (const t of [...texts(home), ...texts(dir)]) expect(t).not.toContain(KEY)
      // where the endpoint quoted it in a body, the records keep what it said, without the key
      if (shape !== "header") expect(texts(join(dir, "runs")).join("")).toContain("[redacted]")
    }
  )
})
