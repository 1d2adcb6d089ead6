/**
 * `pack: N` end to end against the simulator: 200 items in 20 requests with outputs equal to the
 * unpacked run's; a reply with the wrong number of answers retried, then re-packed smaller; the
 * plan's request count and bound; cache and resume per pack.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { Money } from "@tollgate/pricing"
import { packedItems } from "@tollgate/runner/dsl/PackRequest"
import { afterEach, describe, expect, it } from "vitest"
import { runCli, tempHome } from "./support/cli.ts"
import { writeDir } from "./support/pipelines.ts"
import { type Simulator, simulatorPool } from "./support/simulator.ts"

const { sim, closeAll } = simulatorPool()
afterEach(closeAll)

const N = 200
const pipeline = (pack: number, model = "openai/gpt-oss-20b:free") => `version: 1
name: packed
account: { credits_purchased_usd: 10 }
limits: { concurrency: 4, free: { rpm: 6000 } }
inputs:
  items: { type: array, from: items.jsonl }
steps:
  - id: label
    for_each: inputs.items
    pack: ${pack}
    model: ${model}
    system: Label the item good or bad.
    prompt: "Item: {{ item.text }}"
    max_tokens: 10
    output:
      format: json
      schema:
        type: object
        additionalProperties: false
        required: [label, of]
        properties: { label: { type: string }, of: { type: string } }
outputs:
  first: "{{ steps.label.outputs[0].of }}"
  last: "{{ steps.label.outputs[199].of }}"
`

/** One item's answer, from its own prompt only: a packed and an unpacked run can be compared. */
const answer = (prompt: string) => {
  const text = prompt.replace(/^Item: /, "")
  return { label: Number(text.split(" ")[1]) % 3 === 0 ? "bad" : "good", of: text }
}

/** Answers each item of a pack (or a lone request) as the simulator's model would; `drop` answers one short. */
const replyFor =
  (drop: (items: string[]) => boolean = () => false) =>
  (body: Record<string, unknown>) => {
    const items = packedItems(body)
    if (items === undefined)
      return JSON.stringify(answer(String((body.messages as Array<{ content: string }>).at(-1)!.content)))
    const answers = items.map(answer)
    return JSON.stringify({ answers: drop(items) ? answers.slice(1) : answers })
  }

const project = (pack: number, model?: string) => {
  const rows = Array.from({ length: N }, (_, i) => JSON.stringify({ text: `item ${i}` }))
  return writeDir({ "p.yaml": pipeline(pack, model), "items.jsonl": `${rows.join("\n")}\n` }, "tg-pack-")
}

const run = (dir: string, s: Simulator, home: string, extra: string[] = []) =>
  runCli(["run", "p.yaml", "--base-url", s.url, "--out-dir", "runs", ...extra], {
    cwd: dir,
    env: { OPENROUTER_API_KEY: "sk-test", TOLLGATE_HOME: home }
  })

const newestRun = (dir: string) => {
  const name = readdirSync(join(dir, "runs")).sort().at(-1)!
  return join(dir, "runs", name)
}
const readJson = (path: string) => JSON.parse(readFileSync(path, "utf8"))
const stepOutputs = (dir: string) => readJson(join(newestRun(dir), "outputs.json")).steps.label.outputs

describe("pack: N", () => {
  it("200 items in packs of 10: 20 requests, 200 outputs in item order, equal to the unpacked run's", async () => {
    const unpackedSim = await sim({ reply: replyFor() })
    const unpacked = project(1)
    expect((await run(unpacked, unpackedSim, tempHome())).code).toBe(0)
    expect(unpackedSim.log).toHaveLength(N)

    const s = await sim({ reply: replyFor() })
    const dir = project(10)
    const r = await run(dir, s, tempHome())
    expect(r.code, r.stderr).toBe(0)
    expect(s.log).toHaveLength(20)
    expect(s.log.every((a) => packedItems(a.body)?.length === 10)).toBe(true)
    const outputs = stepOutputs(dir)
    expect(outputs).toHaveLength(N)
    expect(outputs[7]).toEqual({ label: "good", of: "item 7" })
    expect(outputs).toEqual(stepOutputs(unpacked))
    expect(readJson(join(newestRun(dir), "outputs.json")).outputs).toEqual({
      first: "item 0",
      last: "item 199"
    })
    const summary = readJson(join(newestRun(dir), "summary.json"))
    expect(summary.actual.requests).toBe(20)
    expect(summary.steps[0].actual.completed).toBe(N)
    expect(r.stderr).toContain("step label: 200 items in 20 packed requests")
  })

  it("a reply with the wrong number of answers is retried, then re-packed smaller; all 200 outputs are right", async () => {
    // the pack of items 0-9 is always answered one short, whatever its size: down to single items
    const s = await sim({ reply: replyFor((items) => items.includes("Item: item 0") && items.length > 1) })
    const dir = project(10)
    const r = await run(dir, s, tempHome())
    expect(r.code, r.stderr).toBe(0)
    const outputs = stepOutputs(dir)
    expect(outputs).toEqual(Array.from({ length: N }, (_, i) => answer(`Item: item ${i}`)))
    // the pack holding item 0: 3 attempts at 10, then at 5, 3 and 2 items, then items 0 and 1 alone;
    // the other halves go through at once (5, 2, and item 2 alone), as do the other 19 packs
    const sizes = s.log.map((a) => packedItems(a.body)?.length ?? 1)
    expect(sizes.filter((n) => n === 10)).toHaveLength(3 + 19)
    expect(sizes.filter((n) => n === 5)).toHaveLength(3 + 1)
    expect(sizes.filter((n) => n === 3)).toHaveLength(3)
    expect(sizes.filter((n) => n === 2)).toHaveLength(3 + 1)
    expect(sizes.filter((n) => n === 1)).toHaveLength(3)
    const summary = readJson(join(newestRun(dir), "summary.json"))
    // every attempt counts, the ones that did not split too
    expect(summary.actual.requests).toBe(s.log.length)
    expect(summary.actual.cost_usd_exact).toBe(Money.toPlain(s.billed()))
  })

  it("the plan of a packed pipeline: 20 requests, and its max covers what the simulator bills, re-packing included", async () => {
    const dir = project(10, "openai/gpt-4o-mini")
    const plan = await runCli(["plan", "p.yaml", "--format", "json"], { cwd: dir })
    expect(plan.code, plan.stderr).toBe(0)
    const p = JSON.parse(plan.stdout)
    expect(p.requests.max).toBe(20)
    expect(p.steps[0]).toMatchObject({ requests: 20, items: 200, pack: 10 })
    expect(p.packing).toEqual({ items: 200, requests: 20, saved: 180 })

    const s = await sim({ reply: replyFor((items) => items.includes("Item: item 0") && items.length > 1) })
    expect((await run(dir, s, tempHome())).code).toBe(0)
    expect(Money.gt(s.billed(), Money.zero)).toBe(true)
    expect(Money.gte(Money.fromNumber(p.cost_usd.max), s.billed())).toBe(true)
  })

  it("cache and resume work per pack: a stopped run sends only the packs it had not finished", async () => {
    let failing = true
    const s = await sim({
      reply: replyFor(),
      // past the 8th request, the provider refuses: the run fails with what it has recorded
      fault: (n) => (failing && n > 8 ? "400" : undefined)
    })
    const dir = project(10)
    const home = tempHome()
    const first = await run(dir, s, home)
    expect(first.code).toBe(1)
    const answered = s.successes().length
    expect(answered).toBeGreaterThanOrEqual(8)
    failing = false
    const second = await run(dir, s, home)
    expect(second.code, second.stderr).toBe(0)
    // nothing answered was sent again
    const keys = s.successes().map((a) => a.key)
    expect(new Set(keys).size).toBe(keys.length)
    expect(s.successes()).toHaveLength(20)
    const summary = readJson(join(newestRun(dir), "summary.json"))
    expect(summary.actual.reused).toBe(answered * 10)
    expect(stepOutputs(dir)).toEqual(Array.from({ length: N }, (_, i) => answer(`Item: item ${i}`)))

    // a new run of the same pipeline: every pack from the cache
    const before = s.log.length
    const third = await run(dir, s, home)
    expect(third.code).toBe(0)
    expect(s.log).toHaveLength(before)
    expect(readJson(join(newestRun(dir), "summary.json")).actual.cached).toBe(N)
  })
})
