/**
 * The GitHub Action's step (scripts/action.sh, as action.yml runs it) in a simulated runner: the
 * job summary, annotations for diagnostics, the outputs and the exit code. The installed runner
 * is stood in for by the workspace's own bin.
 */
import { spawnSync } from "node:child_process"
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { BIN, ROOT, tempHome } from "./support/cli.ts"

const action = (inputs: Record<string, string>, files: Record<string, string> = {}) => {
  const temp = mkdtempSync(join(tmpdir(), "tg-action-"))
  const work = inputs.work ?? join(temp, "work")
  mkdirSync(join(temp, "tollgate", "node_modules", ".bin"), { recursive: true })
  const shim = join(temp, "tollgate", "node_modules", ".bin", "runner")
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`)
  chmodSync(shim, 0o755)
  mkdirSync(work, { recursive: true })
  for (const [name, text] of Object.entries(files)) writeFileSync(join(work, name), text)
  const summary = join(temp, "summary.md")
  const output = join(temp, "output")
  writeFileSync(summary, "")
  writeFileSync(output, "")
  const r = spawnSync("bash", [join(ROOT, "scripts", "action.sh")], {
    cwd: inputs.cwd ?? work,
    encoding: "utf8",
    env: {
      PATH: process.env.PATH ?? "",
      TOLLGATE_HOME: tempHome(),
      RUNNER_TEMP: temp,
      GITHUB_STEP_SUMMARY: summary,
      GITHUB_OUTPUT: output,
      PIPELINE: inputs.pipeline ?? "",
      COMMAND: inputs.command ?? "plan",
      MAX_COST: inputs.maxCost ?? "",
      TOLLGATE_STORE: "",
      FORMAT: inputs.format ?? "markdown",
      OUT_DIR: inputs.outDir ?? ".tollgate/runs",
      SHARD: inputs.shard ?? "",
      ...(inputs.home !== undefined ? { TOLLGATE_HOME: inputs.home } : {})
    }
  })
  const outputs = Object.fromEntries(
    readFileSync(output, "utf8")
      .trim()
      .split("\n")
      .map((l) => l.split("=") as [string, string])
  )
  return { code: r.status, stdout: r.stdout, summary: readFileSync(summary, "utf8"), outputs, work }
}

describe("the GitHub Action", () => {
  it("plan: the plan as markdown in the job summary, its costs as outputs, exit 0", () => {
    const r = action({ pipeline: "examples/classify-then-report.yaml", cwd: ROOT })
    expect(r.code).toBe(0)
    expect(r.summary).toMatch(/^### ✅ Tollgate plan: `classify-then-report`/)
    expect(Number(r.outputs["cost-max"])).toBeGreaterThan(0)
    expect(Number(r.outputs["cost-expected"])).toBeGreaterThan(0)
    expect(r.outputs["exit-code"]).toBe("0")
  })

  it("plan over max-cost: exit 3, the violation in the summary", () => {
    const r = action({ pipeline: "examples/classify-then-report.yaml", cwd: ROOT, maxCost: "0.000001" })
    expect(r.code).toBe(3)
    expect(r.summary).toMatch(/### ❌ Tollgate plan/)
    expect(r.summary).toContain("max_cost_usd")
    expect(r.outputs["exit-code"]).toBe("3")
  })

  it("an invalid pipeline: exit 2, each diagnostic as an annotation and in the summary", () => {
    const r = action(
      { pipeline: "p.yaml" },
      {
        "p.yaml":
          "version: 1\nname: t\nsteps:\n  - id: a\n    model: openai/gpt-4o-mini\n    max_token: 5\n    prompt: hi\n"
      }
    )
    expect(r.code).toBe(2)
    expect(r.stdout).toContain('::error file=p.yaml,line=6,col=5::unknown key "max_token"')
    expect(r.summary).toContain("runner plan exited 2")
    expect(r.summary).toContain('p.yaml:6:5: unknown key "max_token"')
    expect(r.outputs).toMatchObject({ "cost-expected": "", "cost-max": "", "exit-code": "2" })
  })

  it("run: the run summary in the job summary, costs from the run's records", () => {
    const r = action(
      { pipeline: "p.yaml", command: "run" },
      {
        "p.yaml":
          'version: 1\nname: echoed\nprovider: { base_url: "echo:" }\nsteps:\n  - { id: a, model: openai/gpt-4o-mini, prompt: hi, max_tokens: 5 }\n'
      }
    )
    expect(r.code).toBe(0)
    expect(r.summary).toMatch(/^### ✅ Tollgate run: `echoed`/)
    expect(Number(r.outputs["cost-max"])).toBeGreaterThan(0)
    expect(r.outputs["exit-code"]).toBe("0")
  })

  it("a bad command input: exit 2 with an annotation", () => {
    const r = action({ pipeline: "p.yaml", command: "deploy" })
    expect(r.code).toBe(2)
    expect(r.stdout).toContain("::error::command must be plan, run or merge")
  })
  it("a matrix of shards and a merge job: each shard runs its share, the merge joins them into one run", () => {
    const pipeline = [
      "version: 1",
      "name: split",
      "provider: { base_url: 'echo:' }",
      "inputs:",
      "  xs: { type: array, default: [a, b, c, d, e] }",
      "steps:",
      '  - { id: each, for_each: inputs.xs, model: openai/gpt-4o-mini, prompt: "{{ item }}", max_tokens: 5 }',
      '  - { id: all, model: openai/gpt-4o-mini, prompt: "{{ steps.each.outputs | size }}", max_tokens: 5 }',
      ""
    ].join("\n")
    const first = action({ pipeline: "p.yaml", command: "run", shard: "1/2" }, { "p.yaml": pipeline })
    expect(first.code).toBe(0)
    const second = action({ pipeline: "p.yaml", command: "run", shard: "2/2", work: first.work })
    expect(second.code).toBe(0)
    const merged = action({ pipeline: "p.yaml", command: "merge", work: first.work })
    expect(merged.code).toBe(0)
    expect(merged.summary).toContain("completed")
    expect(merged.outputs["exit-code"]).toBe("0")
  })
})
