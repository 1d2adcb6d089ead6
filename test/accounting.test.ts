/**
 * What a run reports it spent is what the provider billed, and what the plan learns from earlier
 * runs comes only from a real provider's replies.
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

const write = (files: Record<string, string>) => writeDir(files, "tg-acct-")

const EXTRACT = `version: 1
name: extract
inputs:
  xs: { type: array, default: [0, 1, 2, 3, 4, 5, 6] }
steps:
  - id: a
    for_each: inputs.xs
    model: openai/gpt-4o-mini
    prompt: "record {{ item }}"
    max_tokens: 40
    retry: { max_attempts: 3 }
    continue_on_error: true
    output:
      format: json
      schema: { type: object, required: [n], properties: { n: { type: number } } }
`

describe("run accounting", () => {
  it("replies that fail their JSON schema are billed: the summary counts every billed attempt and its cost", async () => {
    // even records always get a reply that is not JSON (3 billed attempts, then the request fails);
    // record 1 gets one bad reply and then a good one
    const s = await sim({
      reply: (body, n) => {
        const text = JSON.stringify(body.messages)
        const item = Number(/record (\d)/.exec(text)?.[1])
        if (item % 2 === 0) return "not json at all"
        if (
          item === 1 &&
          s.log.filter((a) => JSON.stringify(a.body.messages).includes("record 1")).length === 1
        )
          return "{ broken"
        return JSON.stringify({ n })
      }
    })
    const dir = write({ "p.yaml": EXTRACT })
    const r = await runCli(["run", "p.yaml", "--base-url", s.url, "--format", "json", "--no-cache"], {
      cwd: dir,
      env: { TOLLGATE_HOME: tempHome() }
    })
    const summary = JSON.parse(r.stdout)
    expect(s.log).toHaveLength(4 * 3 + 1 + 1 + 2) // 4 even items × 3, item 1 twice, items 3 and 5 once
    expect(summary.actual.requests).toBe(s.log.length)
    expect(summary.actual.cost_usd_exact).toBe(Money.toPlain(s.billed()))
    expect(summary.actual.failed).toBe(4)
    expect(summary.actual.retries).toBe(4 * 2 + 1)
  })

  it("an --echo run leaves the next plan's expected numbers unchanged; a real run teaches it", async () => {
    const dir = write({
      "p.yaml":
        'version: 1\nname: learn\ninputs:\n  xs: { type: array, default: [a, b, c] }\nsteps:\n  - { id: a, for_each: inputs.xs, model: openai/gpt-4o-mini, prompt: "say {{ item }}", max_tokens: 200 }\n'
    })
    const env = { TOLLGATE_HOME: tempHome() }
    const plan = async () =>
      JSON.parse(
        (await runCli(["plan", "p.yaml", "--format", "json", "--no-cache"], { cwd: dir, env })).stdout
      )
    const before = await plan()
    expect(before.steps[0].tokens.completion.expected).toBe(3 * 100) // half of max_tokens
    expect((await runCli(["run", "p.yaml", "--echo", "--format", "json"], { cwd: dir, env })).code).toBe(0)
    const afterEcho = await plan()
    expect(afterEcho.steps[0].tokens.completion).toEqual(before.steps[0].tokens.completion)
    expect(afterEcho.cost_usd).toEqual(before.cost_usd)
    const s = await sim({ completionTokens: () => 30 })
    const real = await runCli(["run", "p.yaml", "--base-url", s.url, "--format", "json"], { cwd: dir, env })
    expect(real.code).toBe(0)
    // three replies of 30 against three pseudo-samples of the default (100)
    expect((await plan()).steps[0].tokens.completion.expected).toBe(3 * ((3 * 30 + 3 * 100) / 6))
  })

  it("a reply billed and refused by its schema, then a budget stop: the resume counts what it cost", async () => {
    const dir = write({
      "p.yaml":
        "version: 1\nname: stopped\nbudget: { gate: expected }\nsteps:\n  - { id: a, model: openai/gpt-4o-mini, prompt: hi, max_tokens: 1000, retry: { max_attempts: 3 }, output: { format: json } }\n"
    })
    const env = { TOLLGATE_HOME: tempHome(), OPENROUTER_API_KEY: "sk-test" }
    const plan = JSON.parse((await runCli(["plan", "p.yaml", "--format", "json"], { cwd: dir, env })).stdout)
    // room for one attempt at its worst case, not for a retry after the first was billed
    const cap = String(plan.steps[0].max_request_cost_usd * 1.2)
    const s = await sim({ completionTokens: (b) => Number(b.max_tokens), reply: () => "not json" })
    const args = ["run", "p.yaml", "--base-url", s.url, "--max-cost", cap, "--out-dir", "runs"]
    expect((await runCli(args, { cwd: dir, env })).code).toBe(3)
    expect(s.log).toHaveLength(1)
    // the resume knows the first reply was billed: no room for another attempt, nothing sent
    const again = await runCli(args, { cwd: dir, env })
    expect(again.code).toBe(3)
    expect(s.log).toHaveLength(1)
    expect(Money.lte(s.billed(), Money.usd(cap))).toBe(true)
  })

  it("an --echo run is not paced by the account (neither the free rpm nor account.balance_usd)", async () => {
    const dir = write({
      "p.yaml":
        'version: 1\nname: fast\naccount: { balance_usd: 1 }\ninputs:\n  xs: { type: array, default: [1, 2, 3, 4, 5, 6] }\nsteps:\n  - { id: a, for_each: inputs.xs, model: openai/gpt-4o-mini, prompt: "{{ item }}", max_tokens: 5 }\n  - { id: b, for_each: inputs.xs, model: openai/gpt-oss-20b:free, prompt: "{{ item }}", max_tokens: 5 }\n'
    })
    const r = await runCli(["run", "p.yaml", "--echo", "--format", "json", "--out-dir", "runs"], { cwd: dir })
    expect(r.code).toBe(0)
    const events = readFileSync(join(JSON.parse(r.stdout).run.dir, "events.ndjson"), "utf8")
    expect(events).not.toMatch(/"type":"wait(ing)?"/)
  })
})
