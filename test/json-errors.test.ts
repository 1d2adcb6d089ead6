/**
 * Programs read stdout: with `--format json` every failure is a JSON document there (kind,
 * message, exit code, and a pipeline's diagnostics), and `validate` reports every problem,
 * schema and semantic together, sorted by position.
 */
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { ROOT, runCli } from "./support/cli.ts"
import { writeDir } from "./support/pipelines.ts"

const FIXTURES = join(ROOT, "test/fixtures/invalid")

describe("--format json on failure", () => {
  it("validate: every problem, schema and semantic, sorted, as diagnostics in one document (exit 2)", async () => {
    const r = await runCli(["validate", "schema-and-semantics.yaml", "--format", "json"], { cwd: FIXTURES })
    expect(r.code).toBe(2)
    const doc = JSON.parse(r.stdout)
    expect(doc.ok).toBe(false)
    expect(doc.error).toMatchObject({
      kind: "PipelineInvalid",
      exit_code: 2,
      message: "4 problems; nothing was sent"
    })
    expect(doc.error.diagnostics.map((d: { line: number; rule: string }) => [d.line, d.rule])).toEqual([
      [3, "unknown-key"],
      [6, "unknown-model"],
      [7, "unknown-step"],
      [12, "type"]
    ])
    // people still read them on stderr
    expect(r.stderr).toContain('schema-and-semantics.yaml:7:21: step "a" refers to unknown step "b"')
  })

  it("validate of a good pipeline says so in JSON", async () => {
    const r = await runCli(["validate", "examples/extract-invoices.yaml", "--format", "json"])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({
      ok: true,
      file: "examples/extract-invoices.yaml",
      steps: 1,
      diagnostics: []
    })
  })

  it("a missing file, a bad flag value and an unknown flag are each one document on stdout", async () => {
    const missing = await runCli(["plan", "nope.yaml", "--format", "json"])
    expect(missing.code).toBe(2)
    expect(JSON.parse(missing.stdout).error).toMatchObject({ kind: "PipelineInvalid", exit_code: 2 })

    const flag = await runCli([
      "plan",
      "examples/extract-invoices.yaml",
      "--format=json",
      "--max-cost",
      "lots"
    ])
    expect(flag.code).toBe(2)
    const doc = JSON.parse(flag.stdout)
    expect(doc.error.kind).toBe("InputInvalid")
    expect(doc.error.message).toContain("max-cost")

    const usage = await runCli(["plan", "examples/extract-invoices.yaml", "--format", "json", "--bogus"])
    expect(usage.code).toBe(2)
    expect(JSON.parse(usage.stdout).error).toMatchObject({ kind: "UsageError", exit_code: 2 })
  })

  it("without --format json stdout stays empty on failure; a gate's plan is the only document", async () => {
    const text = await runCli(["plan", "nope.yaml"])
    expect(text.code).toBe(2)
    expect(text.stdout).toBe("")

    const dir = writeDir({
      "p.yaml": [
        "version: 1",
        "name: gated",
        "budget: { max_cost_usd: 0.000001 }",
        "steps:",
        "  - id: a",
        "    model: openai/gpt-4o",
        "    prompt: hello",
        "    max_tokens: 1000",
        ""
      ].join("\n")
    })
    const gated = await runCli(["plan", "p.yaml", "--format", "json"], { cwd: dir })
    expect(gated.code).toBe(3)
    const plan = JSON.parse(gated.stdout)
    expect(plan.ok).toBe(false)
    expect(plan.violations[0].kind).toBe("max_cost_usd")
  })
})
