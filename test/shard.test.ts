/**
 * A fan-out split across processes (`runner run --shard i/n`) and joined (`runner merge`), with
 * real processes: every item billed once, the digest once, outputs equal to a single run's.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { runCli, tempHome } from "./support/cli.ts"
import { writeDir } from "./support/pipelines.ts"
import { start } from "./support/processes.ts"
import { type Simulator, simulatorPool } from "./support/simulator.ts"

const { sim, closeAll } = simulatorPool()
afterEach(closeAll)

const N = 200
const PIPELINE = `version: 1
name: sharded
inputs:
  items: { type: array, from: items.jsonl }
steps:
  - id: each
    for_each: inputs.items
    model: openai/gpt-4o-mini
    prompt: "Label {{ item.text }}"
    max_tokens: 10
  - id: digest
    model: openai/gpt-4o-mini
    prompt: "{% for s in steps.each.outputs %}{{ s }};{% endfor %}"
    max_tokens: 20
outputs:
  digest: "{{ steps.digest.output }}"
  first: "{{ steps.each.outputs[0] }}"
  last: "{{ steps.each.outputs[199] }}"
`

/** A reply that depends on the request only, so two runs can be compared. */
const reply = (body: Record<string, unknown>) => {
  const text = String((body.messages as Array<{ content: string }>).at(-1)?.content ?? "")
  return text.startsWith("Label ") ? `label of ${text.slice(6)}` : `digest of ${text.split(";").length - 1}`
}

const project = () => {
  const rows = Array.from({ length: N }, (_, i) => JSON.stringify({ text: `item ${i}` }))
  return writeDir({ "p.yaml": PIPELINE, "items.jsonl": `${rows.join("\n")}\n` }, "tg-shard-")
}

/** Runs the shards `which` of `count` one after another, then a merge; what was sent before the merge. */
const shardsThenMerge = async (
  dir: string,
  s: Simulator,
  which: number[],
  count: number,
  extra: string[] = []
) => {
  for (const i of which) {
    const r = await runCli(
      ["run", "p.yaml", "--base-url", s.url, ...extra, "--shard", `${i}/${count}`, "--out-dir", "runs"],
      {
        cwd: dir,
        env: { TOLLGATE_HOME: tempHome() }
      }
    )
    expect(r.code).toBe(0)
  }
  const sent = s.log.length
  const merged = await runCli(["merge", "p.yaml", "--base-url", s.url, "--out-dir", "runs"], {
    cwd: dir,
    env: { TOLLGATE_HOME: tempHome() }
  })
  return { sent, merged }
}

const outputsOf = (stdout: string) => {
  const summary = JSON.parse(stdout)
  return JSON.parse(readFileSync(join(summary.run.dir, "outputs.json"), "utf8")).outputs
}

describe("split runs", () => {
  it("4 shards over 200 items plus a digest, then merge: each item billed once, the digest once, outputs equal to one process's", async () => {
    const s = await sim({ reply })
    const dir = project()
    const env = { TOLLGATE_HOME: tempHome() }
    const codes = await Promise.all(
      [1, 2, 3, 4].map(
        (i) =>
          start(["run", "p.yaml", "--base-url", s.url, "--shard", `${i}/4`, "--out-dir", "runs"], dir, {
            ...env,
            TOLLGATE_HOME: tempHome()
          }).done
      )
    )
    expect(codes).toEqual([0, 0, 0, 0])
    expect(s.log).toHaveLength(N) // the digest waits for the merge
    const merged = await runCli(
      ["merge", "p.yaml", "--base-url", s.url, "--out-dir", "runs", "--format", "json"],
      {
        cwd: dir,
        env
      }
    )
    expect(merged.code, merged.stderr).toBe(0)
    expect(s.log).toHaveLength(N + 1) // only the digest was sent
    expect(new Set(s.log.map((a) => a.key)).size).toBe(N + 1)
    const summary = JSON.parse(merged.stdout)
    expect(summary.actual).toMatchObject({ reused: N })

    // the same pipeline in one process, against a fresh simulator: the same outputs
    const one = await sim({ reply })
    const single = await runCli(
      ["run", "p.yaml", "--base-url", one.url, "--out-dir", "single", "--format", "json"],
      {
        cwd: dir,
        env: { TOLLGATE_HOME: tempHome() }
      }
    )
    expect(single.code).toBe(0)
    expect(outputsOf(merged.stdout)).toEqual(outputsOf(single.stdout))
    // the digest saw the items in the same order
    expect(s.log.at(-1)!.key).toBe(one.log.find((a) => a.body.max_tokens === 20)!.key)
  })

  it("a missing shard: merge exits 2 naming it and sends nothing", async () => {
    const s = await sim({ reply })
    const dir = project()
    writeFileSync(join(dir, "p.yaml"), PIPELINE.replace("N = 200", ""))
    const { sent, merged } = await shardsThenMerge(dir, s, [1, 3], 3)
    expect(merged.code).toBe(2)
    expect(merged.stderr).toMatch(/shard 2\/3 missing under runs/)
    expect(s.log).toHaveLength(sent)
  })

  it("a shard whose records lack an item: merge exits 2 naming the item and its shard, and sends nothing", async () => {
    const s = await sim({ reply })
    const dir = project()
    for (const i of [1, 2]) {
      const r = await runCli(
        ["run", "p.yaml", "--base-url", s.url, "--shard", `${i}/2`, "--out-dir", "runs"],
        {
          cwd: dir,
          env: { TOLLGATE_HOME: tempHome() }
        }
      )
      expect(r.code).toBe(0)
    }
    const shard2 = readdirSync(join(dir, "runs")).find((n) => n.endsWith("-shard2of2"))!
    const file = join(dir, "runs", shard2, "steps", "each.jsonl")
    const lines = readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l !== "")
    const dropped = JSON.parse(lines[0]!).index
    writeFileSync(file, `${lines.slice(1).join("\n")}\n`)
    const sent = s.log.length
    const merged = await runCli(["merge", "p.yaml", "--base-url", s.url, "--out-dir", "runs"], {
      cwd: dir,
      env: { TOLLGATE_HOME: tempHome() }
    })
    expect(merged.code, merged.stderr).toBe(2)
    expect(merged.stderr).toContain(`step "each"[${dropped}]: has no answer in shard 2/2's records`)
    expect(s.log).toHaveLength(sent)
  })

  it("--shard is checked: a bad value exits 2 naming the flag", async () => {
    const dir = project()
    const r = await runCli(["run", "p.yaml", "--echo", "--shard", "5/4"], {
      cwd: dir,
      env: { TOLLGATE_HOME: tempHome() }
    })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("--shard 5/4: i must be between 1 and 4")
  })

  it("a step every shard ran answered differently (no shared store): merge refuses, naming it, and sends nothing", async () => {
    // the list is made up anew on each request, as a model at temperature > 0 would
    const s = await sim({
      reply: (body, n) => (body.max_tokens === 30 ? JSON.stringify([`x${n}`, `y${n}`]) : `label ${n}`)
    })
    const dir = writeDir({
      "p.yaml":
        'version: 1\nname: drift\nsteps:\n  - { id: list, model: openai/gpt-4o-mini, prompt: "list", max_tokens: 30, output: { format: json } }\n  - { id: each, for_each: steps.list.output, max_items: 2, model: openai/gpt-4o-mini, prompt: "{{ item }}", max_tokens: 5 }\n'
    })
    const { sent, merged } = await shardsThenMerge(dir, s, [1, 2], 2, ["--no-cache"])
    expect(merged.code).toBe(2)
    expect(merged.stderr).toContain('step "list" answered differently in shards 1 and 2')
    expect(s.log).toHaveLength(sent)
  })
})
