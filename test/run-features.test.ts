/** `runner run` features: when, continue_on_error, JSON replies checked and retried, saved plans, damaged cache. */
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { afterEach, describe, expect, it } from "vitest"
import { runCli, tempHome } from "./support/cli.ts"
import { writeDir } from "./support/pipelines.ts"
import { simulatorPool } from "./support/simulator.ts"

const { sim, closeAll } = simulatorPool()
afterEach(closeAll)

const write = (files: Record<string, string>) => writeDir(files, "tg-feat-")
const runIn = (dir: string, args: string[], env: Record<string, string>) =>
  runCli(["run", ...args, "--format", "json", "--out-dir", join(dir, "runs")], { cwd: dir, env })

describe("runner run features", () => {
  it("when skips a step (output null); continue_on_error records a failed request and goes on", async () => {
    const s = await sim({
      fault: (_, body) => (JSON.stringify(body.messages).includes("poison") ? "400" : undefined)
    })
    const dir = write({
      "p.yaml": [
        "version: 1",
        "name: feat",
        "defaults: { model: openai/gpt-4o-mini, max_tokens: 20 }",
        "inputs:",
        "  xs: { type: array, default: [ok, poison, fine] }",
        "  mode: { type: string, default: quick }",
        "steps:",
        "  - id: each",
        "    for_each: inputs.xs",
        '    prompt: "{{ item }}"',
        "    continue_on_error: true",
        "  - id: deep",
        '    when: inputs.mode == "deep"',
        '    prompt: "{{ steps.each.outputs | join: \\", \\" }}"',
        "outputs:",
        '  deep: "{{ steps.deep.output }}"',
        '  second: "{{ steps.each.outputs[1] }}"',
        ""
      ].join("\n")
    })
    const r = await runIn(dir, ["p.yaml", "--base-url", s.url], { TOLLGATE_HOME: tempHome() })
    expect(r.code).toBe(0)
    const summary = JSON.parse(r.stdout)
    expect(summary.status).toBe("completed")
    const each = summary.steps.find((x: { id: string }) => x.id === "each")
    expect(each.actual).toMatchObject({ completed: 2, failed: 1 })
    expect(summary.steps.find((x: { id: string }) => x.id === "deep").actual.skipped).toBe(true)
    expect(s.log.filter((a) => JSON.stringify(a.body.messages).includes("poison"))).toHaveLength(1) // 400: no retry
    expect(summary.outputs).toEqual({ deep: "", second: "" })
    // the same pipeline with continue_on_error off fails the run with exit 1
    writeFileSync(
      join(dir, "p.yaml"),
      readFileSync(join(dir, "p.yaml"), "utf8").replace("continue_on_error: true", "continue_on_error: false")
    )
    const strict = await runIn(dir, ["p.yaml", "--base-url", s.url], { TOLLGATE_HOME: tempHome() })
    expect(strict.code).toBe(1)
    expect(strict.stderr).toMatch(/step "each" failed/)
  })

  it("a JSON reply that does not parse or match the schema is retried (and billed), then accepted", async () => {
    const s = await sim({
      reply: (_, n) => (n === 1 ? "not json" : n === 2 ? '{"title": 5}' : undefined)
    })
    const dir = write({
      "p.yaml": [
        "version: 1",
        "name: json",
        "steps:",
        "  - id: extract",
        "    model: openai/gpt-4o-mini",
        "    prompt: give me a title",
        "    max_tokens: 50",
        "    retry: { max_attempts: 3 }",
        "    output:",
        "      format: json",
        "      schema: { type: object, required: [title], properties: { title: { type: string } } }",
        "outputs:",
        '  title: "{{ steps.extract.output.title }}"',
        ""
      ].join("\n")
    })
    const r = await runIn(dir, ["p.yaml", "--base-url", s.url], { TOLLGATE_HOME: tempHome() })
    expect(r.code).toBe(0)
    expect(s.log).toHaveLength(3)
    expect(s.log[0]!.body.response_format).toMatchObject({ type: "json_schema" })
    const summary = JSON.parse(r.stdout)
    expect(summary.outputs).toEqual({ title: "echo" })
    expect(summary.actual.retries).toBe(2)
    // the two rejected replies were billed too, and counted
    const { Money } = await import("@tollgate/pricing")
    expect(summary.actual.cost_usd_exact).toBe(Money.toPlain(s.billed()))
  })

  it("a saved plan runs while nothing changed, and is refused as stale (exit 2) once the data changes", async () => {
    const dir = write({
      "p.yaml":
        'version: 1\nname: saved\ninputs:\n  rows: { type: array, from: rows.jsonl }\nsteps:\n  - { id: a, for_each: inputs.rows, model: openai/gpt-4o-mini, prompt: "{{ item.t }}", max_tokens: 5 }\n',
      "rows.jsonl": '{"t": "one"}\n{"t": "two"}\n'
    })
    const env = { TOLLGATE_HOME: tempHome() }
    expect((await runCli(["plan", "p.yaml", "--out", "plan.json"], { cwd: dir, env })).code).toBe(0)
    const ok = await runIn(dir, ["plan.json", "--echo"], env)
    expect(ok.code).toBe(0)
    writeFileSync(join(dir, "rows.jsonl"), '{"t": "one"}\n{"t": "three"}\n')
    const stale = await runIn(dir, ["plan.json", "--echo"], env)
    expect(stale.code).toBe(2)
    expect(stale.stderr).toMatch(/stale: .*the data files.* changed since/)
  })

  it("a saved plan is told by its content, whatever its name: run runs it, plan plans its pipeline again with its inputs", async () => {
    const dir = write({
      "p.yaml":
        'version: 1\nname: saved\ninputs:\n  rows: { type: array, from: rows.jsonl }\n  n: { type: number, default: 1 }\nsteps:\n  - { id: a, for_each: inputs.rows, model: openai/gpt-4o-mini, prompt: "{{ item.t }} {{ inputs.n }}", max_tokens: 5 }\n',
      "rows.jsonl": '{"t": "one"}\n{"t": "two"}\n'
    })
    const env = { TOLLGATE_HOME: tempHome() }
    const plan = (file: string) => runCli(["plan", file, "--format", "json"], { cwd: dir, env })
    const saved = await runCli(
      ["plan", "p.yaml", "--input", "n=7", "--out", "nightly.plan", "--format", "json"],
      {
        cwd: dir,
        env
      }
    )
    expect(saved.code).toBe(0)
    // planned again: the saved inputs (n=7), the same figures
    const again = await plan("nightly.plan")
    expect(again.code, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout).cost_usd).toEqual(JSON.parse(saved.stdout).cost_usd)
    expect(JSON.parse(again.stdout).hashes).toEqual(JSON.parse(saved.stdout).hashes)
    // the data changed: planned as it is now, and said
    writeFileSync(join(dir, "rows.jsonl"), '{"t": "one"}\n{"t": "two"}\n{"t": "three"}\n')
    const moved = await plan("nightly.plan")
    expect(moved.code).toBe(0)
    expect(JSON.parse(moved.stdout).requests.max).toBe(3)
    expect(moved.stderr).toMatch(/warning: .*data files.* changed since nightly\.plan was saved/)
    // run by content too: a saved plan not named .json is not read as a pipeline
    const ran = await runIn(dir, ["nightly.plan", "--echo"], env)
    expect(ran.code).toBe(2)
    expect(ran.stderr).toMatch(/the saved plan nightly\.plan is stale/)
    writeFileSync(join(dir, "rows.jsonl"), '{"t": "one"}\n{"t": "two"}\n')
    const ok = await runIn(dir, ["nightly.plan", "--echo"], env)
    expect(ok.code, ok.stderr).toBe(0)
    expect(JSON.parse(ok.stdout).actual.requests).toBe(2)
  })

  it("a damaged cache entry is ignored, reported, and the request sent again", async () => {
    const s = await sim()
    const home = tempHome()
    const dir = write({
      "p.yaml":
        "version: 1\nname: c\nsteps:\n  - { id: a, model: openai/gpt-4o-mini, prompt: hello, max_tokens: 5 }\n"
    })
    expect((await runIn(dir, ["p.yaml", "--base-url", s.url], { TOLLGATE_HOME: home })).code).toBe(0)
    const db = new DatabaseSync(join(home, "cache", "cache.db"))
    expect(db.prepare("UPDATE entries SET body = '{ damaged'").run().changes).toBe(1)
    db.close()
    const again = await runIn(dir, ["p.yaml", "--base-url", s.url], { TOLLGATE_HOME: home })
    expect(again.code).toBe(0)
    expect(JSON.parse(again.stdout).cache.corrupt).toBe(1)
    expect(s.log).toHaveLength(2)
  })

  it("progress: a status block on a terminal; plain line logs with waits and their ETA otherwise", async () => {
    const dir = write({
      "p.yaml":
        'version: 1\nname: prog\ninputs:\n  xs: { type: array, default: [1, 2, 3] }\nlimits: { window: 2s, free: { rpm: 1 } }\nsteps:\n  - { id: a, for_each: inputs.xs, model: openai/gpt-oss-20b:free, prompt: "{{ item }}", max_tokens: 5 }\n'
    })
    const s = await sim()
    const plain = await runCli(["run", "p.yaml", "--base-url", s.url, "--out-dir", join(dir, "runs")], {
      cwd: dir,
      env: { TOLLGATE_HOME: tempHome() }
    })
    expect(plain.code).toBe(0)
    expect(plain.stderr).toContain("step a: 3 requests")
    expect(plain.stderr).toMatch(
      /a\[\d\]: waiting 2s, until \d\d:\d\d:\d\dZ \(1 per 2 s \(free models, account-wide\)\)/
    )
    expect(plain.stderr).not.toContain("\r")
    const tty = await runCli(
      ["run", "p.yaml", "--base-url", s.url, "--no-cache", "--out-dir", join(dir, "runs2")],
      {
        cwd: dir,
        env: { TOLLGATE_HOME: tempHome() },
        isTTY: true
      }
    )
    expect(tty.code).toBe(0)
    expect(tty.stderr).toContain("\r\x1b[J") // the status block is redrawn in place
    expect(tty.stderr).toMatch(/a \d\/3\n\d+s elapsed · ETA \d+s · \$0 · \d in flight/)
    expect(tty.stderr).toMatch(/waits \ds \(until \d\d:\d\d:\d\dZ\) for 1 per 2 s/)
  })

  it("plan's expected completion comes from the step's measured replies, shrunk while they are few", async () => {
    const s = await sim({ completionTokens: () => 17 })
    const dir = write({
      "p.yaml":
        'version: 1\nname: hist\ninputs:\n  xs: { type: array, default: [a, b] }\nsteps:\n  - { id: a, for_each: inputs.xs, model: openai/gpt-4o-mini, prompt: "{{ item }}", max_tokens: 100 }\n'
    })
    const env = { TOLLGATE_HOME: tempHome() }
    const before = JSON.parse(
      (await runCli(["plan", "p.yaml", "--format", "json", "--no-cache"], { cwd: dir, env })).stdout
    )
    expect(before.steps[0].tokens.completion.expected).toBe(2 * 50) // no history: half of max_tokens
    const ran = await runCli(["run", "p.yaml", "--base-url", s.url, "--format", "json"], { cwd: dir, env })
    expect(ran.code).toBe(0)
    const after = JSON.parse(
      (await runCli(["plan", "p.yaml", "--format", "json", "--no-cache"], { cwd: dir, env })).stdout
    )
    // two replies of 17 against three pseudo-samples of the default (50): (2·17 + 3·50) / 5 = 36.8
    expect(after.steps[0].tokens.completion.expected).toBe(2 * 37)
  })

  it("OpenRouter without a key is refused before anything is sent (exit 2)", async () => {
    const r = await runCli(["run", "examples/extract-invoices.yaml"], { env: { TOLLGATE_HOME: tempHome() } })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/OPENROUTER_API_KEY is not set/)
  })

  it("CI logs report a large step's progress every tenth", async () => {
    const dir = write({
      "p.yaml":
        'version: 1\nname: tenths\ninputs:\n  xs: { type: array, default: [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20] }\nsteps:\n  - { id: a, for_each: inputs.xs, model: openai/gpt-4o-mini, prompt: "{{ item }}", max_tokens: 5 }\n'
    })
    const r = await runCli(["run", "p.yaml", "--echo", "--out-dir", join(dir, "runs")], {
      cwd: dir,
      env: { TOLLGATE_HOME: tempHome() }
    })
    expect(r.code).toBe(0)
    expect(r.stderr).toContain("step a: 10/20 (50%), $0 spent so far")
    expect(r.stderr.match(/step a: \d+\/20 \(\d+%\)/g)).toHaveLength(9)
  })

  it("diagnostics on a terminal carry a caret under the column", async () => {
    const dir = write({
      "p.yaml":
        "version: 1\nname: t\nsteps:\n  - id: a\n    model: openai/gpt-4o-mini\n    prompt: hi\n    max_token: 5\n"
    })
    const r = await runCli(["validate", "p.yaml"], { cwd: dir, isTTY: true })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('p.yaml:7:5: unknown key "max_token"')
    expect(r.stderr).toContain("   7 |     max_token: 5\n     |     ^")
  })

  it("a fan-out over a reply that is not a list fails its step: the run stops (exit 1), unless continue_on_error", async () => {
    const pipeline = (extra: string) =>
      `version: 1\nname: notalist\ninputs:\n  xs: { type: array, default: [${Array.from({ length: 30 }, (_, i) => i).join(", ")}] }\nsteps:\n  - { id: a, model: openai/gpt-4o-mini, prompt: list, max_tokens: 7, output: { format: json } }\n  - { id: b, for_each: steps.a.output, max_items: 5, model: openai/gpt-4o-mini, prompt: "{{ item }}", max_tokens: 8${extra} }\n  - { id: other, for_each: inputs.xs, model: openai/gpt-4o-mini, prompt: "other {{ item }}", max_tokens: 9 }\n`
    const reply = (body: Record<string, unknown>) => (body.max_tokens === 7 ? '{"not": "a list"}' : undefined)
    const s = await sim({ reply, latencyMs: 60 })
    const dir = writeDir({ "p.yaml": pipeline("") })
    const stopped = await runCli(
      ["run", "p.yaml", "--base-url", s.url, "--concurrency", "2", "--out-dir", "runs"],
      {
        cwd: dir,
        env: { TOLLGATE_HOME: tempHome() }
      }
    )
    expect(stopped.code).toBe(1)
    expect(stopped.stderr).toContain('for_each "steps.a.output" is not a list')
    // the independent fan-out stopped too, instead of buying all 30
    expect(s.log.filter((a) => a.body.max_tokens === 9).length).toBeLessThan(30)
    const t = await sim({ reply })
    const goOn = writeDir({ "p.yaml": pipeline(", continue_on_error: true") })
    const went = await runCli(["run", "p.yaml", "--base-url", t.url, "--out-dir", "runs"], {
      cwd: goOn,
      env: { TOLLGATE_HOME: tempHome() }
    })
    expect(went.code).toBe(0)
    expect(t.log.filter((a) => a.body.max_tokens === 9)).toHaveLength(30)
  })
})
