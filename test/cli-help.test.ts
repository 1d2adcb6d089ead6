/** `runner <command> --help` exits 0 and describes every flag; a bad command line is one line and exit 2. */
import { describe, expect, it } from "vitest"
import { ROOT, runCli } from "./support/cli.ts"

const COMMANDS: ReadonlyArray<[string[], string[]]> = [
  [["validate"], ["--input"]],
  [["plan"], ["--input", "--format", "--out", "--base-url", "--max-cost", "--no-cache", "--store"]],
  [
    ["run"],
    [
      "--input",
      "--format",
      "--base-url",
      "--echo",
      "--max-cost",
      "--no-cache",
      "--offline",
      "--concurrency",
      "--out-dir",
      "--store"
    ]
  ],
  [["quota"], ["--credits-purchased", "--format", "--store"]],
  [["models"], ["--free", "--search", "--format"]],
  [["models", "refresh"], ["--base-url"]],
  [["cost"], ["--prompt-tokens", "--completion-tokens", "--reasoning-tokens", "--cached-tokens", "--format"]]
]

describe("runner help", () => {
  it.each(COMMANDS)("runner %s --help: exit 0, every flag described", async (command, flags) => {
    const r = await runCli([...command, "--help"])
    expect(r.code).toBe(0)
    const flagSection = r.stdout.split("FLAGS\n")[1]!.split("\n\n")[0]!
    for (const flag of flags) {
      const line = flagSection
        .split("\n")
        .find((l) => l.trimStart().startsWith(`${flag} `) || l.trim() === flag)
      expect(line, `${command.join(" ")} ${flag}`).toBeDefined()
      // the flag, its value's name, then at least a few words of description
      const description = line!.trim().split(/\s{2,}/)[1] ?? ""
      expect(description.split(" ").length, `${command.join(" ")} ${flag}`).toBeGreaterThanOrEqual(4)
    }
  })

  it("runner --help lists the commands; --version prints the version", async () => {
    const help = await runCli(["--help"])
    expect(help.code).toBe(0)
    for (const c of ["validate", "plan", "run", "quota", "models", "cost"])
      expect(help.stdout).toMatch(new RegExp(`\\n  ${c}\\s`))
    const version = await runCli(["--version"])
    expect(version.code).toBe(0)
    expect(version.stdout).toBe("runner 0.1.0\n")
  })

  it.each([
    [["plan"], /missing required argument: pipeline/],
    [["plan", "p.yaml", "--bogus"], /unrecognized flag: --bogus/],
    [["run", "p.yaml", "--format", "xml"], /--format/],
    [["nope"], /unknown subcommand/],
    [[], undefined]
  ])("a bad command line (%j) exits 2 with one line on stderr", async (argv, message) => {
    const r = await runCli(argv)
    expect(r.code).toBe(2)
    if (message !== undefined) {
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1)
      expect(r.stderr).toMatch(message)
    }
  })
})

describe("runner init", () => {
  it("writes a starter pipeline and data that plan (within budget) and run with --echo as they are; never overwrites", async () => {
    const { mkdtempSync, readFileSync } = await import("node:fs")
    const { tmpdir } = await import("node:os")
    const { join } = await import("node:path")
    const dir = mkdtempSync(join(tmpdir(), "tg-init-"))
    const init = await runCli(["init"], { cwd: dir })
    expect(init.code).toBe(0)
    // no node_modules here: the modeline points at the schema of the runner that wrote it
    const modeline = /^# yaml-language-server: \$schema=(\S+)\n/.exec(
      readFileSync(join(dir, "pipeline.yaml"), "utf8")
    )
    expect(readFileSync(join(dir, modeline![1]!), "utf8")).toBe(
      readFileSync(join(ROOT, "packages/runner/schemas/pipeline.schema.json"), "utf8")
    )
    const plan = await runCli(["plan", "pipeline.yaml", "--format", "json"], { cwd: dir })
    expect(plan.code).toBe(0)
    const json = JSON.parse(plan.stdout)
    expect(json.cost_usd.max).toBe(0)
    expect(json.free_requests).toBe(4)
    const run = await runCli(["run", "pipeline.yaml", "--echo", "--format", "json"], { cwd: dir })
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout).status).toBe("completed")
    const again = await runCli(["init"], { cwd: dir })
    expect(again.code).toBe(2)
    expect(again.stderr).toMatch(/^error: pipeline\.yaml and notes\.jsonl already exist; nothing was written/)
  })
})

describe("the schema for editors", () => {
  it("is in step: every description also as markdownDescription, model ids completing from the catalog", async () => {
    const { readFileSync } = await import("node:fs")
    const { SCHEMA, synced } = await import("./support/schema-sync.ts")
    expect(JSON.parse(readFileSync(SCHEMA, "utf8"))).toEqual(JSON.parse(synced()))
    const schema = JSON.parse(readFileSync(SCHEMA, "utf8"))
    const model = schema.properties.steps.items.properties.model
    const offered = model.oneOf[0].defaultSnippets.map((s: { body: string }) => s.body)
    expect(offered).toContain("openai/gpt-oss-20b:free")
    expect(offered).not.toContain("openrouter/auto") // no price: not offered
    expect(model.oneOf[0].examples).toBeUndefined() // an editor shows every example on each hover
  })

  it("validation is unchanged by the editor help: an unknown model id is still a diagnostic, any string is allowed by the schema", async () => {
    const r = await runCli(["validate", "test/fixtures/invalid/unknown-model.yaml"])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/unknown model/)
  })
})
