/**
 * The three promises at the edges, end to end with real runner processes against the simulator:
 * nothing past the budget, nothing paid twice, nothing secret leaves the machine.
 */

import { execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Money } from "@tollgate/pricing"
import { afterEach, describe, expect, it } from "vitest"
import { runBin, tempHome } from "./support/cli.ts"
import { texts, writeDir } from "./support/pipelines.ts"
import { start, until } from "./support/processes.ts"
import { type Quote, simulatorPool } from "./support/simulator.ts"

const { sim, closeAll } = simulatorPool()
afterEach(closeAll)

const write = (files: Record<string, string>) => writeDir(files, "tg-promise-")

const KEY = "sk-or-v1-HOSTILE-0123456789abcdef"

describe("no key leaves the machine", () => {
  it.each<Quote>(["400", "401", "429", "500", "200-error", "detail", "text", "header", "escaped"])(
    "an endpoint that quotes the key back (%s): not in output, errors, events, records or state",
    async (shape) => {
      const s = await sim({ quoteKey: (n) => (n === 1 ? shape : undefined) })
      const home = tempHome()
      const dir = write({
        "p.yaml":
          "version: 1\nname: q\nprovider: { api_key_env: MY_API_KEY }\nsteps:\n  - { id: a, model: openai/gpt-4o-mini, prompt: hi, max_tokens: 5, continue_on_error: true, retry: { max_attempts: 2 } }\n"
      })
      const r = await runBin(["run", "p.yaml", "--base-url", s.url, "--no-cache", "--out-dir", "runs"], {
        cwd: dir,
        env: { TOLLGATE_HOME: home, MY_API_KEY: KEY }
      })
      expect(s.log[0]!.authorization).toBe(`Bearer ${KEY}`) // the endpoint did see it and quote it
      expect(r.stdout + r.stderr).not.toContain(KEY)
      for (const t of [...texts(home), ...texts(dir)]) expect(t).not.toContain(KEY)
      // where the endpoint quoted it in a body, the records keep what it said, without the key
      if (shape !== "header" && shape !== "escaped")
        expect(texts(join(dir, "runs")).join("")).toContain("[redacted]")
    }
  )
})

const FAN = (n: number) =>
  `version: 1\nname: fan\ninputs:\n  xs: { type: array, default: [${Array.from({ length: n }, (_, i) => i).join(", ")}] }\nsteps:\n  - { id: a, for_each: inputs.xs, model: openai/gpt-4o-mini, prompt: "item {{ item }}", max_tokens: 5 }\n`

/** `run p.yaml` against the simulator, one request at a time, no cache, records in runs/. */
const serial = (url: string) => [
  "run",
  "p.yaml",
  "--base-url",
  url,
  "--no-cache",
  "--concurrency",
  "1",
  "--out-dir",
  "runs"
]

describe("nothing is paid twice", () => {
  it("kill -9 mid-run, then run again (cache off): no answer received before the kill is bought again", async () => {
    // item 0 is slow; the others answer at once: their records must not wait for item 0's
    const s = await sim({
      latencyMs: (_, body) => (JSON.stringify(body.messages).includes('item 0"') ? 2500 : 20)
    })
    const home = tempHome()
    const dir = write({ "p.yaml": FAN(12) })
    const args = [
      "run",
      "p.yaml",
      "--base-url",
      s.url,
      "--no-cache",
      "--concurrency",
      "3",
      "--out-dir",
      "runs"
    ]
    const first = start(args, dir, { TOLLGATE_HOME: home })
    await until(() => s.successes().length >= 6)
    await new Promise((r) => setTimeout(r, 300)) // past any write in progress
    const killedAt = Date.now()
    first.child.kill("SIGKILL")
    expect(await first.done).toBe(null)
    const answeredBefore = s.successes().filter((a) => a.answeredAt < killedAt - 250)
    expect(answeredBefore.length).toBeGreaterThanOrEqual(6)
    const again = await runBin([...args, "--format", "json"], { cwd: dir, env: { TOLLGATE_HOME: home } })
    expect(again.code).toBe(0)
    const paid = s.successes()
    for (const a of answeredBefore)
      expect(
        paid.filter((b) => b.key === a.key),
        a.key
      ).toHaveLength(1)
    expect(new Set(paid.map((a) => a.key)).size).toBe(12)
    expect(JSON.parse(again.stdout).actual.reused).toBeGreaterThanOrEqual(answeredBefore.length)
  })

  it("a run an earlier runner left unfinished (its inputs hashed row by row) resumes after the upgrade: nothing bought again", async () => {
    const s = await sim()
    const home = tempHome()
    const rows = Array.from({ length: 6 }, (_, i) => JSON.stringify({ id: i, text: `row ${i}` }))
    const dir = write({
      "items.jsonl": `${rows.join("\n")}\n`,
      "p.yaml":
        'version: 1\nname: legacy\ninputs:\n  items: { type: array, from: items.jsonl }\nsteps:\n  - { id: a, for_each: inputs.items, model: openai/gpt-4o-mini, prompt: "{{ item.text }}", max_tokens: 5 }\n'
    })
    const first = await runBin([...serial(s.url), "--format", "json"], {
      cwd: dir,
      env: { TOLLGATE_HOME: home }
    })
    expect(first.code, first.stderr).toBe(0)
    const runDir = JSON.parse(first.stdout).run.dir as string
    // as an earlier runner left it: named by every row's JSON, no summary yet
    const plan = JSON.parse(readFileSync(join(runDir, "plan.json"), "utf8"))
    const sha = (t: string) => createHash("sha256").update(t).digest("hex")
    const legacyInputs = sha(JSON.stringify({ items: rows.map((r) => JSON.parse(r)) }))
    const identity = sha(JSON.stringify([plan.hashes.pipeline, legacyInputs, plan.hashes.data, s.url]))
    expect(identity).not.toBe(JSON.parse(readFileSync(join(runDir, "run.json"), "utf8")).identity)
    const meta = JSON.parse(readFileSync(join(runDir, "run.json"), "utf8"))
    writeFileSync(join(runDir, "run.json"), JSON.stringify({ ...meta, identity }))
    rmSync(join(runDir, "summary.json"))
    const again = await runBin([...serial(s.url), "--format", "json"], {
      cwd: dir,
      env: { TOLLGATE_HOME: home }
    })
    expect(again.code, again.stderr).toBe(0)
    const summary = JSON.parse(again.stdout)
    expect(summary.run.dir).toBe(runDir)
    expect(summary.actual.reused).toBe(6)
    expect(s.successes()).toHaveLength(6)
  })

  it("two runs of one pipeline into one out-dir at once: the second refuses (exit 1, one line); each answer is bought once", async () => {
    const s = await sim({ latencyMs: 300 })
    const home = tempHome()
    const dir = write({ "p.yaml": FAN(20) })
    const args = serial(s.url)
    const first = start(args, dir, { TOLLGATE_HOME: home })
    await until(() => s.log.length >= 1)
    const second = await runBin(args, { cwd: dir, env: { TOLLGATE_HOME: home } })
    expect(second.code).toBe(1)
    expect(second.stderr).toMatch(/^error: another runner \(pid \d+\) is running this pipeline/)
    expect(second.stderr.trimEnd().split("\n")).toHaveLength(1)
    expect(await first.done).toBe(0)
    expect(s.successes()).toHaveLength(20)
    expect(new Set(s.successes().map((a) => a.key)).size).toBe(20)
  })

  it("a lock left by a killed run (its pid gone) is taken over at once, and the run resumes", async () => {
    const s = await sim({
      latencyMs: (_, body) => (JSON.stringify(body.messages).includes('item 0"') ? 2500 : 20)
    })
    const home = tempHome()
    const dir = write({ "p.yaml": FAN(6) })
    const args = ["run", "p.yaml", "--base-url", s.url, "--no-cache", "--out-dir", "runs"]
    const first = start(args, dir, { TOLLGATE_HOME: home })
    await until(() => s.successes().length >= 3)
    await new Promise((r) => setTimeout(r, 300)) // the answers reach the runner
    first.child.kill("SIGKILL")
    await first.done
    expect(readdirSync(join(dir, "runs")).some((n) => n.endsWith(".lock"))).toBe(true)
    const again = await runBin([...args, "--format", "json"], { cwd: dir, env: { TOLLGATE_HOME: home } })
    expect(again.code).toBe(0)
    expect(JSON.parse(again.stdout).actual.reused).toBeGreaterThanOrEqual(3)
    expect(readdirSync(join(dir, "runs")).some((n) => n.endsWith(".lock"))).toBe(false)
  })
})

describe("no file outside the pipeline leaves the machine", () => {
  const SECRET = "OPENAI_KEY=sk-live-do-not-send-42"

  it.each([
    ["a prompt that renders .env", "prompt: \"{% render '.env' %}\""],
    ["a prompt that includes a file", "prompt: \"{% include '../outside/secret.json' %}\""],
    [
      "a data file above the pipeline's folder",
      'prompt: "{{ inputs.s }}"',
      "inputs:\n  s: { type: object, from: ../outside/secret.json }\n"
    ],
    [
      "a data file by absolute path",
      'prompt: "{{ inputs.s }}"',
      "inputs:\n  s: { type: object, from: ABS }\n"
    ],
    [
      "a symlink out of the pipeline's folder",
      'prompt: "{{ inputs.s }}"',
      "inputs:\n  s: { type: object, from: link.json }\n"
    ]
  ])("%s: validation refuses (exit 2, file:line:col), nothing is sent", async (_, prompt, head = "") => {
    const s = await sim()
    const root = mkdtempSync(join(tmpdir(), "tg-exfil-"))
    mkdirSync(join(root, "outside"))
    mkdirSync(join(root, "pipeline"))
    writeFileSync(join(root, "outside", "secret.json"), JSON.stringify({ secret: SECRET }))
    writeFileSync(join(root, "pipeline", ".env"), SECRET)
    symlinkSync(join(root, "outside", "secret.json"), join(root, "pipeline", "link.json"))
    const yaml = `version: 1\nname: exfil\n${head.replace("ABS", join(root, "outside", "secret.json"))}steps:\n  - { id: a, model: openai/gpt-4o-mini, max_tokens: 5, ${prompt} }\n`
    writeFileSync(join(root, "pipeline", "p.yaml"), yaml)
    for (const command of ["plan", "run"]) {
      const r = await runBin([command, "p.yaml", "--base-url", s.url], { cwd: join(root, "pipeline") })
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/^p\.yaml:\d+:\d+: /)
      expect(r.stdout + r.stderr).not.toContain("sk-live")
    }
    expect(s.log).toHaveLength(0)
  })

  it("a data row missing a field a prompt reads: exit 2 naming the data file, the row's line and the field", async () => {
    const s = await sim()
    const dir = write({
      "rows.csv": "id,text\n1,hello\n2,\n",
      "rows.jsonl": '{"text": "a"}\n{"body": "b"}\n',
      "p.yaml":
        'version: 1\nname: rows\ninputs:\n  rows: { type: array, from: rows.jsonl }\nsteps:\n  - { id: a, for_each: inputs.rows, model: openai/gpt-4o-mini, max_tokens: 5, prompt: "{{ item.text }}" }\n'
    })
    const r = await runBin(["run", "p.yaml", "--base-url", s.url], { cwd: dir })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^rows\.jsonl:2:1: row 2 has no field "text"/)
    expect(r.stderr).not.toContain("internal error")
    expect(s.log).toHaveLength(0)
  })
})

describe("never past the budget, and every billed attempt reported", () => {
  it("an attempt that times out is retried, reported, and counted at its worst case (the provider bills it)", async () => {
    const s = await sim({ latencyMs: (n) => (n === 1 ? 1600 : 10) })
    const dir = write({
      "p.yaml":
        "version: 1\nname: slow\nsteps:\n  - { id: a, model: openai/gpt-4o-mini, prompt: hello, max_tokens: 20, timeout: 1s }\n"
    })
    const r = await runBin(
      ["run", "p.yaml", "--base-url", s.url, "--no-cache", "--format", "json", "--out-dir", "runs"],
      {
        cwd: dir
      }
    )
    expect(r.code).toBe(0)
    await until(() => s.successes().length === 2) // the abandoned attempt is answered (and billed) later
    const summary = JSON.parse(r.stdout)
    expect(summary.actual.abandoned).toBe(1)
    expect(summary.actual.requests).toBe(2)
    expect(summary.actual.cost_usd).toBeGreaterThanOrEqual(Number(Money.toPlain(s.billed())))
    expect(summary.actual.cost_usd).toBeLessThanOrEqual(summary.cost_usd.max * 2)
  })
})

describe("the edges, with real processes: refused before anything is sent", () => {
  const step = (extra: string) =>
    `version: 1\nname: edge\nbudget: { max_cost_usd: 0.05 }\n${extra}steps:\n  - { id: a, model: openai/gpt-4o-mini, max_tokens: 100, prompt: hi`
  it.each([
    [
      "params that reroute to a dearer model",
      `${step("")}, params: { models: [openai/o1-pro] } }\n`,
      [],
      /params\.models/
    ],
    [
      "params that add paid plugins",
      `${step("")}, params: { plugins: [{ id: web }] } }\n`,
      [],
      /params\.plugins/
    ],
    ["a malformed when", `${step("")}, when: "inputs.flag ==" }\n`, [], /malformed expression/],
    ["a timeout of 0ms", `${step("")}, timeout: 0ms }\n`, [], /timeout 0ms/],
    ["a timeout of 50d", `${step("")}, timeout: 50d }\n`, [], /timeout 50d/],
    [
      "a header with CR/LF",
      `${step('provider:\n  headers: { X-A: "a\\r\\nX-B: 1" }\n')} }\n`,
      [],
      /line break/
    ],
    [
      "an Authorization header",
      `${step("provider:\n  headers: { Authorization: Bearer x }\n")} }\n`,
      [],
      /Authorization/
    ],
    ["--base-url file:///etc", `${step("")} }\n`, ["--base-url", "file:///etc"], /--base-url must be http/]
  ])("%s: exit 2, nothing sent", async (_, yaml, flags, message) => {
    const s = await sim()
    const dir = write({ "p.yaml": yaml })
    const args = flags.length > 0 ? ["run", "p.yaml", ...flags] : ["run", "p.yaml", "--base-url", s.url]
    const r = await runBin(args, { cwd: dir })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(message)
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /)
    expect(s.log).toHaveLength(0)
  })

  it("a FIFO as a data file is refused at once (it used to hang the plan)", async () => {
    const s = await sim()
    const dir = write({
      "p.yaml":
        'version: 1\nname: fifo\ninputs:\n  xs: { type: array, from: rows.jsonl }\nsteps:\n  - { id: a, for_each: inputs.xs, model: openai/gpt-4o-mini, max_tokens: 5, prompt: "{{ item }}" }\n'
    })
    execFileSync("mkfifo", [join(dir, "rows.jsonl")])
    const r = await runBin(["run", "p.yaml", "--base-url", s.url], { cwd: dir })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/not a regular file/)
    expect(s.log).toHaveLength(0)
  })

  it("a damaged quota ledger: exit 1 with one line naming it; a ledger lock left by a killed process is taken over", async () => {
    const s = await sim()
    const home = tempHome()
    mkdirSync(join(home, "ledger"), { recursive: true })
    const ledger = join(home, "ledger", "anonymous.json")
    const dir = write({
      "p.yaml":
        "version: 1\nname: free\nsteps:\n  - { id: a, model: openai/gpt-oss-20b:free, max_tokens: 5, prompt: hi }\n"
    })
    writeFileSync(ledger, "{ garbage")
    const damaged = await runBin(["run", "p.yaml", "--base-url", s.url], {
      cwd: dir,
      env: { TOLLGATE_HOME: home }
    })
    expect(damaged.code).toBe(1)
    expect(damaged.stderr.trimEnd().split("\n")).toEqual([expect.stringContaining(ledger)])
    expect(s.log).toHaveLength(0)
    // a lock whose holder is gone (a pid no process has) does not make the next run wait or fail
    writeFileSync(ledger, JSON.stringify({ version: 1, days: {} }))
    writeFileSync(`${ledger}.lock`, "2147483646")
    const ok = await runBin(["run", "p.yaml", "--base-url", s.url, "--format", "json"], {
      cwd: dir,
      env: { TOLLGATE_HOME: home }
    })
    expect(ok.code).toBe(0)
    // (a live holder would make it wait 10 s, then fail with one line)
    expect(JSON.parse(readFileSync(ledger, "utf8")).days).toEqual({
      [new Date().toISOString().slice(0, 10)]: 1
    })
  })
})

describe("the budget covers the whole run, resumes included", () => {
  it("a run killed mid-way and run again spends, in all, no more than its cap", async () => {
    // replies use all of max_tokens: each bills about its worst case, twice the plan's expected
    const s = await sim({ completionTokens: () => 200, latencyMs: 60 })
    const dir = write({
      "p.yaml": `version: 1\nname: capped\nbudget: { max_cost_usd: 0.0013, gate: expected }\ninputs:\n  xs: { type: array, default: [${Array.from({ length: 20 }, (_, i) => i).join(", ")}] }\nsteps:\n  - { id: a, for_each: inputs.xs, model: openai/gpt-4o-mini, prompt: "item {{ item }}", max_tokens: 200 }\n`
    })
    const args = serial(s.url)
    const first = start(args, dir, { TOLLGATE_HOME: tempHome() })
    await until(() => s.successes().length >= 6)
    first.child.kill("SIGKILL")
    await first.done
    const second = await runBin([...args, "--format", "json"], { cwd: dir })
    expect(second.code).toBe(3)
    expect(JSON.parse(second.stdout).stop).toBe("budget")
    // the resume counted what the killed attempt had spent: together they stay under the cap
    expect(Number(Money.toPlain(s.billed()))).toBeLessThanOrEqual(0.0013)
  })
})
