/**
 * Any OpenAI-compatible endpoint, honestly: a 200 without a usable message is a failed attempt
 * (retried, never cached, its cost counted); a cut-off text reply is kept with a warning; costs say
 * where they came from.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Money } from "@tollgate/pricing"
import { afterEach, describe, expect, it } from "vitest"
import { runCli, tempHome } from "./support/cli.ts"
import { writeDir } from "./support/pipelines.ts"
import { simulatorPool } from "./support/simulator.ts"

const { sim, closeAll } = simulatorPool()
afterEach(closeAll)

const ENV = { OPENROUTER_API_KEY: "sk-endpoints" }
const step = (extra = "") =>
  `version: 1\nname: e\nsteps:\n  - { id: a, model: openai/gpt-4o-mini, prompt: hello, max_tokens: 50, retry: { max_attempts: 2 }${extra} }\n`

const run = async (dir: string, url: string, home: string, extra: string[] = []) => {
  const r = await runCli(
    ["run", "p.yaml", "--base-url", url, "--format", "json", "--out-dir", "runs", ...extra],
    {
      cwd: dir,
      env: { TOLLGATE_HOME: home, ...ENV }
    }
  )
  return { ...r, summary: r.stdout !== "" ? JSON.parse(r.stdout) : undefined }
}

describe("replies checked", () => {
  it.each(["no-choices", "null-content", "filtered"] as const)(
    "a 200 with %s is a failed attempt: retried, its cost counted, never cached",
    async (shape) => {
      const s = await sim({ replyShape: (n) => (n === 1 ? shape : undefined) })
      const dir = writeDir({ "p.yaml": step() })
      const home = tempHome()
      const first = await run(dir, s.url, home)
      expect(first.code, first.stderr).toBe(0)
      expect(s.log).toHaveLength(2)
      expect(first.summary.actual.retries).toBe(1)
      // both attempts were billed, and the summary counts both
      expect(first.summary.actual.cost_usd_exact).toBe(Money.toPlain(s.billed()))
      const outputs = JSON.parse(readFileSync(join(first.summary.run.dir, "outputs.json"), "utf8"))
      expect(outputs.steps.a.output).toBe("sim reply 2")
      // a new run is answered from the cache: the good reply, not the empty one
      const again = await run(dir, s.url, home)
      expect(again.summary.actual.cached).toBe(1)
      expect(s.log).toHaveLength(2)
    }
  )

  it("no usable message on every attempt: the step fails with the reason, exit 1, each attempt's cost counted", async () => {
    const s = await sim({ replyShape: () => "null-content" })
    const dir = writeDir({ "p.yaml": step() })
    const r = await run(dir, s.url, tempHome())
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("the reply has no content (message.content is null)")
    expect(s.log).toHaveLength(2)
    expect(r.summary.actual.cost_usd_exact).toBe(Money.toPlain(s.billed()))
  })

  it("cut off at max_tokens: a JSON step retries (it cannot parse); a text step keeps it, with a warning", async () => {
    const json = await sim({ replyShape: (n) => (n === 1 ? "length" : undefined) })
    const jdir = writeDir({ "p.yaml": step(", output: { format: json }") })
    const j = await run(jdir, json.url, tempHome())
    expect(j.code, j.stderr).toBe(0)
    expect(json.log).toHaveLength(2)
    const text = await sim({ replyShape: () => "length" })
    const tdir = writeDir({ "p.yaml": step() })
    const t = await runCli(["run", "p.yaml", "--base-url", text.url, "--out-dir", "runs"], {
      cwd: tdir,
      env: { TOLLGATE_HOME: tempHome(), ...ENV }
    })
    expect(t.code, t.stderr).toBe(0)
    expect(text.log).toHaveLength(1)
    expect(t.stdout + t.stderr).toContain(
      "warning: 1 reply was cut off at max_tokens and kept (output.truncated: allow)"
    )
    // output.truncated: fail makes the text step retry too
    const strict = await sim({ replyShape: (n) => (n === 1 ? "length" : undefined) })
    const sdir = writeDir({ "p.yaml": step(", output: { truncated: fail }") })
    expect((await run(sdir, strict.url, tempHome())).code).toBe(0)
    expect(strict.log).toHaveLength(2)
  })
})

describe("costs labelled", () => {
  it("a reply without usage costs its worst case, and the summary says so", async () => {
    const s = await sim({ replyShape: () => "no-usage" })
    const dir = writeDir({ "p.yaml": step() })
    const r = await run(dir, s.url, tempHome())
    expect(r.code, r.stderr).toBe(0)
    const sources = r.summary.actual.cost_sources
    expect(sources.bound_usd).toBeGreaterThan(0)
    expect(sources.bound_usd).toBe(r.summary.actual.cost_usd)
    expect(sources.provider_usd).toBe(0)
    const records = readFileSync(join(r.summary.run.dir, "steps", "a.jsonl"), "utf8")
    expect(JSON.parse(records.split("\n")[0]!).cost_source).toBe("bound")
  })

  it("a reply with usage.cost: all of the cost is the provider's own figure", async () => {
    const s = await sim()
    const dir = writeDir({ "p.yaml": step() })
    const r = await run(dir, s.url, tempHome())
    expect(r.summary.actual.cost_sources).toMatchObject({ catalog_usd: 0, bound_usd: 0 })
    expect(r.summary.actual.cost_sources.provider_usd).toBe(r.summary.actual.cost_usd)
  })
})

describe("retry hints from the OpenAI family", () => {
  it("a 429 saying 'try again in 1s' (x-ratelimit-reset-requests, no Retry-After) is waited out, not given up", async () => {
    const s = await sim({ openaiRateLimited: 2 })
    const dir = writeDir({
      "p.yaml": step(", retry: { max_attempts: 1 }").replace("retry: { max_attempts: 2 }, ", "")
    })
    const r = await run(dir, s.url, tempHome(), ["--provider-kind", "openai"])
    expect(r.code, r.stderr).toBe(0)
    expect(s.log.map((a) => a.status)).toEqual([429, 429, 200])
    // each refusal's second was waited (the provider's wait spends no attempt of max_attempts: 1)
    expect(s.log[2]!.at - s.log[0]!.at).toBeGreaterThanOrEqual(1_900)
  })
})
