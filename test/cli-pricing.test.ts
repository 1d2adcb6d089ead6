import { describe, expect, it } from "vitest"
import { runBin, runCli } from "./support/cli.ts"

describe("runner cost", () => {
  it("prints the exact cost from the bundled catalog (the issue's example)", async () => {
    const r = await runBin([
      "cost",
      "anthropic/claude-sonnet-4.6",
      "--prompt-tokens",
      "1000",
      "--completion-tokens",
      "500",
      "--format",
      "json"
    ])
    expect(r.code).toBe(0)
    const json = JSON.parse(r.stdout)
    expect(json.cost_usd).toBe(0.0105)
    expect(json.cost_usd_exact).toBe("0.0105")
    expect(json.breakdown_usd).toMatchObject({ prompt: 0.003, completion: 0.0075 })
    expect(json.catalog).toMatchObject({ source: "bundled", date: "2026-08-19", models: 414 })
  })

  it("counts reasoning and cached tokens as parts of completion and prompt", async () => {
    const r = await runCli([
      "cost",
      "perplexity/sonar-deep-research",
      "--prompt-tokens",
      "2000",
      "--completion-tokens",
      "3000",
      "--reasoning-tokens",
      "2000",
      "--cached-tokens",
      "0",
      "--format",
      "json"
    ])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).cost_usd_exact).toBe("0.018")
  })

  it("a table by default, with the catalog named on stderr", async () => {
    const r = await runCli([
      "cost",
      "openai/gpt-4o-mini",
      "--prompt-tokens",
      "10000",
      "--completion-tokens",
      "1000"
    ])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("openai/gpt-4o-mini: $0.0021")
    expect(r.stderr).toContain("catalog: bundled snapshot 2026-08-19 (414 models)")
  })

  it("an unknown model exits 2 with did-you-mean", async () => {
    const r = await runCli([
      "cost",
      "anthropic/claude-sonet-4.6",
      "--prompt-tokens",
      "1",
      "--completion-tokens",
      "1"
    ])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(
      /unknown model "anthropic\/claude-sonet-4.6"; did you mean "anthropic\/claude-sonnet-4.6"/
    )
    expect(r.stdout).toBe("")
  })

  it.each([
    ["negative", "-5"],
    ["non-integer", "1.5"],
    ["not a number", "lots"],
    ["absurdly large", "100000000000"]
  ])("a %s count exits 2 naming the flag", async (_, value) => {
    const r = await runCli([
      "cost",
      "openai/gpt-4o-mini",
      `--prompt-tokens=${value}`,
      "--completion-tokens",
      "1"
    ])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("--prompt-tokens")
    expect(r.stderr).not.toContain("at ") // no stack trace
  })

  it("reasoning beyond completion, missing flags and unknown flags exit 2", async () => {
    expect(
      (
        await runCli([
          "cost",
          "openai/gpt-4o-mini",
          "--prompt-tokens",
          "1",
          "--completion-tokens",
          "1",
          "--reasoning-tokens",
          "2"
        ])
      ).code
    ).toBe(2)
    expect((await runCli(["cost", "openai/gpt-4o-mini", "--prompt-tokens", "1"])).code).toBe(2)
    expect(
      (
        await runCli([
          "cost",
          "openai/gpt-4o-mini",
          "--prompt-tokens",
          "1",
          "--completion-tokens",
          "1",
          "--bogus"
        ])
      ).code
    ).toBe(2)
  })

  it("a router with unknown price exits 2 rather than printing $0", async () => {
    const r = await runCli(["cost", "openrouter/auto", "--prompt-tokens", "1", "--completion-tokens", "1"])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/unknown/)
  })
})

describe("runner models", () => {
  it("--free --format json lists the snapshot's free models with their policy", async () => {
    const r = await runBin(["models", "--free", "--format", "json"])
    expect(r.code).toBe(0)
    const json = JSON.parse(r.stdout)
    const ids: string[] = json.models.map((m: { id: string }) => m.id)
    expect(ids.filter((id) => id.endsWith(":free"))).toHaveLength(17)
    expect(ids).toContain("openai/gpt-oss-20b:free")
    expect(json.models.every((m: { free: boolean }) => m.free)).toBe(true)
    expect(json.models[0].free_policy).toMatchObject({
      rpm: 20,
      per_day_below_threshold: 50,
      per_day_at_or_above_threshold: 1000
    })
  })

  it("--search narrows the list; prices are per million tokens", async () => {
    const r = await runCli(["models", "--search", "claude-sonnet-4.6", "--format", "json"])
    const m = JSON.parse(r.stdout).models.find((x: { id: string }) => x.id === "anthropic/claude-sonnet-4.6")
    expect(m.usd_per_million).toMatchObject({ prompt: 3, completion: 15, cache_read: 0.3, cache_write: 3.75 })
  })

  it("an unknown command or format exits 2", async () => {
    expect((await runCli(["modles"])).code).toBe(2)
    expect((await runCli(["models", "--format", "yaml"])).code).toBe(2)
  })
})

describe("runner validate", () => {
  it("a good pipeline exits 0 and says so", async () => {
    const r = await runCli(["validate", "examples/compare-models.yaml"])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe("examples/compare-models.yaml: ok (3 steps)\n")
  })
})
