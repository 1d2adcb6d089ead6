import { readdirSync } from "node:fs"
import { join } from "node:path"
import { loadPipeline, Promises, plan, run } from "@tollgate/runner"
import { Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { ROOT, tempHome } from "./support/cli.ts"

const env = () => ({ TOLLGATE_HOME: tempHome() })

/** The invoices example run from code against the echo provider, in a fresh state dir. */
const echoRun = () => {
  const dir = tempHome()
  return Effect.runPromise(
    run("examples/extract-invoices.yaml", {
      cwd: ROOT,
      env: { TOLLGATE_HOME: dir },
      baseUrl: "echo:",
      outDir: join(dir, "runs")
    })
  )
}

describe("@tollgate/runner as a library", () => {
  it("plans from code, with the same numbers as the CLI's JSON", async () => {
    const p = await Effect.runPromise(plan("examples/summarize-articles.yaml", { cwd: ROOT, env: env() }))
    expect(p.ok).toBe(true)
    expect(p.steps.map((s) => s.id)).toEqual(["summarize", "digest"])
    expect(p.requests.max).toBe(9)
  })

  it("an invalid pipeline fails with PipelineInvalid carrying every diagnostic", async () => {
    const exit = await Effect.runPromiseExit(
      loadPipeline("test/fixtures/invalid/many-errors-sorted.yaml", { cwd: ROOT, env: env() })
    )
    expect(Exit.isFailure(exit)).toBe(true)
    const diags = await Promises.validate("test/fixtures/invalid/many-errors-sorted.yaml", {
      cwd: ROOT,
      env: env()
    })
    expect(diags).toHaveLength(4)
    expect(diags.map((d) => d.rule)).toEqual(["max-tokens", "unknown-model", "unknown-input", "unknown-step"])
  })

  it("runs from code against the echo provider and returns the summary", async () => {
    const result = await echoRun()
    expect(result.kind).toBe("ran")
    if (result.kind !== "ran") return
    expect(result.exitCode).toBe(0)
    expect(result.summary.status).toBe("completed")
    expect(result.summary.outputs).toEqual({ first_vendor: "echo" })
    expect(result.summary.actual.requests).toBe(4)
  })

  it("a run in a long-lived process leaves no file open: each run's records are closed when it ends", async () => {
    const open = () => readdirSync("/proc/self/fd").length
    const once = async () => expect((await echoRun()).kind).toBe("ran")
    await once() // anything a first run opens for good (the catalog, the ranks) is open from here
    const before = open()
    for (let i = 0; i < 5; i++) await once()
    // each run appends to its events and two steps' records: 15 descriptors if they stayed open
    expect(open()).toBeLessThanOrEqual(before + 2)
  })

  it("the CLI's run summary as markdown for a PR comment", async () => {
    const { runCli } = await import("./support/cli.ts")
    const dir = tempHome()
    const r = await runCli(
      [
        "run",
        "examples/extract-invoices.yaml",
        "--echo",
        "--format",
        "markdown",
        "--out-dir",
        join(dir, "runs")
      ],
      {
        env: { TOLLGATE_HOME: dir }
      }
    )
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^### ✅ Tollgate run: `extract-invoices`/)
    expect(r.stdout).toContain("| extract | 4/4 | 0 | 0 |")
  })

  it("the inputs option overrides an input", async () => {
    const p = await Promises.plan("examples/summarize-articles.yaml", {
      cwd: ROOT,
      env: env(),
      inputs: { topic: "caching" }
    })
    expect(p.ok).toBe(true)
  })

  it("one convention for Effects and Promises: bad input rejects (plan and run alike); an over-limit plan resolves", async () => {
    const invalid = "test/fixtures/invalid/many-errors-sorted.yaml"
    await expect(Promises.plan(invalid, { cwd: ROOT, env: env() })).rejects.toMatchObject({
      _tag: "PipelineInvalid",
      diagnostics: expect.arrayContaining([expect.objectContaining({ rule: "unknown-model" })])
    })
    await expect(Promises.run(invalid, { cwd: ROOT, env: env(), baseUrl: "echo:" })).rejects.toMatchObject({
      _tag: "PipelineInvalid"
    })
    const over = await Promises.plan("examples/classify-then-report.yaml", {
      cwd: ROOT,
      env: env(),
      maxCostUsd: 0
    })
    expect(over.ok).toBe(false)
    const dir = tempHome()
    const gated = await Promises.run("examples/classify-then-report.yaml", {
      cwd: ROOT,
      env: { TOLLGATE_HOME: dir },
      baseUrl: "echo:",
      maxCostUsd: 0,
      outDir: join(dir, "runs")
    })
    expect(gated.kind).toBe("gated")
  })
})
