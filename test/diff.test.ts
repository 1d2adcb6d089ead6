/** `runner plan --compare` and `runner diff`: what a change does to the bill, and the policy on it (exit 3). */
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { runCli, tempHome } from "./support/cli.ts"
import { writeDir } from "./support/pipelines.ts"

const pipeline = (
  o: { model?: string; maxTokens?: number; prompt?: string; rows?: number; name?: string } = {}
) =>
  `version: 1\nname: ${o.name ?? "nightly"}\ninputs:\n  xs: { type: array, default: [${Array.from({ length: o.rows ?? 20 }, (_, i) => i).join(", ")}] }\nsteps:\n  - { id: summarize, for_each: inputs.xs, model: openai/gpt-4o-mini, prompt: "${o.prompt ?? "Summarize item {{ item }}"}", max_tokens: 200 }\n  - { id: digest, model: ${o.model ?? "openai/gpt-4o-mini"}, prompt: "Digest of {{ steps.summarize.outputs | join: ', ' }}", max_tokens: ${o.maxTokens ?? 300} }\n`

const setup = async () => {
  const dir = writeDir({ "p.yaml": pipeline() })
  const env = { TOLLGATE_HOME: tempHome() }
  const base = await runCli(["plan", "p.yaml", "--out", "base.json"], { cwd: dir, env })
  expect(base.code, base.stderr).toBe(0)
  return { dir, env, cli: (args: string[]) => runCli(args, { cwd: dir, env }) }
}

describe("cost diff", () => {
  it("plan --compare: per step before → after and why; --fail-on-increase passes within it, exit 3 over it naming the step", async () => {
    const { dir, cli } = await setup()
    writeFileSync(
      join(dir, "p.yaml"),
      pipeline({
        model: "anthropic/claude-sonnet-4.5",
        maxTokens: 600,
        prompt: "Summarize item {{ item }} in three careful sentences",
        rows: 25
      })
    )
    const table = await cli(["plan", "p.yaml", "--compare", "base.json", "--fail-on-increase", "100000%"])
    expect(table.code, table.stderr).toBe(0)
    expect(table.stdout).toMatch(
      /summarize +20 → 25 .*prompt text changed \(\+\d+ tokens a request\); data rows added: \+5 \(20 → 25\)/
    )
    expect(table.stdout).toMatch(
      /digest .*model openai\/gpt-4o-mini → anthropic\/claude-sonnet-4\.5; max_tokens 300 → 600/
    )
    expect(table.stdout).toMatch(/✓ within the policy \(expected cost up by at most 100000%\)/)
    const over = await cli([
      "plan",
      "p.yaml",
      "--compare",
      "base.json",
      "--fail-on-increase",
      "50%",
      "--format",
      "json",
      "--json-file",
      "out.json"
    ])
    expect(over.code).toBe(3)
    expect(over.stderr).toMatch(
      /the cost goes up more than the policy allows \(expected cost up by at most 50%\): digest \+\$[\d.]+, summarize \+\$[\d.]+/
    )
    const json = JSON.parse(over.stdout)
    expect(json.diff.policy.ok).toBe(false)
    expect(json.diff.steps.map((s: { id: string; status: string }) => [s.id, s.status])).toEqual([
      ["summarize", "changed"],
      ["digest", "changed"]
    ])
    expect(json.diff.change.expected.usd).toBeCloseTo(
      json.cost_usd.expected - JSON.parse(readFileSync(join(dir, "base.json"), "utf8")).cost_usd.expected,
      9
    )
    // this invocation's JSON, also in the file
    expect(JSON.parse(readFileSync(join(dir, "out.json"), "utf8"))).toEqual(json)
    // on max, in USD
    const usd = await cli([
      "plan",
      "p.yaml",
      "--compare",
      "base.json",
      "--fail-on-increase",
      "0.001",
      "--fail-on",
      "max"
    ])
    expect(usd.code).toBe(3)
    expect(usd.stderr).toContain("max cost up by at most $0.001")
  })

  it("runner diff of two saved plans; markdown for the PR comment with its marker and the run's link", async () => {
    const { dir, cli } = await setup()
    writeFileSync(join(dir, "p.yaml"), pipeline({ rows: 10 }))
    expect((await cli(["plan", "p.yaml", "--out", "head.json"])).code).toBe(0)
    const md = await runCli(["diff", "base.json", "head.json", "--format", "markdown"], {
      cwd: dir,
      env: { GITHUB_SERVER_URL: "https://github.com", GITHUB_REPOSITORY: "o/r", GITHUB_RUN_ID: "42" }
    })
    expect(md.code, md.stderr).toBe(0)
    expect(md.stdout.split("\n")[0]).toBe("<!-- tollgate-cost-diff: nightly -->")
    expect(md.stdout).toMatch(/\*\*\$[\d.]+ → \$[\d.]+ expected \(−\$[\d.]+, −[\d.]+%\)/)
    expect(md.stdout).toContain("data rows removed: −10 (20 → 10)")
    expect(md.stdout).toContain("[the run](https://github.com/o/r/actions/runs/42)")
    // a decrease passes any policy
    expect((await cli(["diff", "base.json", "head.json", "--fail-on-increase", "0%"])).code).toBe(0)
  })

  it("a base of another pipeline, or of another format version, is a clear error (exit 2)", async () => {
    const { dir, cli } = await setup()
    writeFileSync(join(dir, "q.yaml"), pipeline({ name: "other" }))
    const other = await cli(["plan", "q.yaml", "--compare", "base.json"])
    expect(other.code).toBe(2)
    expect(other.stderr).toContain(
      'base.json: the base plan is of pipeline "nightly", not "other": compare plans of one pipeline'
    )
    const old = JSON.parse(readFileSync(join(dir, "base.json"), "utf8"))
    writeFileSync(join(dir, "old.json"), JSON.stringify({ ...old, format_version: 1 }))
    const r = await cli(["diff", "old.json", "base.json"])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(
      /old\.json: format_version 1 is not 2, the version this runner reads \(made by another version of the runner: plan it again with this one\)/
    )
    const bad = await cli(["plan", "p.yaml", "--fail-on-increase", "lots"])
    expect(bad.code).toBe(2)
  })
})
