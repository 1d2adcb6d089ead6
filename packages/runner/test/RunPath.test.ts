/**
 * The run path (Step, Item, SendPacks, Execute) in milliseconds: the runner's own `runFile` over
 * a stub provider in this process (no HTTP, no child process), its records in a temp dir. The
 * end-to-end suites prove the promises with real processes; these check the path's behaviour.
 */

import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { CatalogStore } from "@tollgate/core"
import { type Outcome, Provider } from "@tollgate/core/Provider"
import { Account } from "@tollgate/runner/account/Account"
import { AccountCopies } from "@tollgate/runner/account/AccountCopies"
import { reply } from "@tollgate/runner/providers/EchoProvider"
import { keyVariablesOf } from "@tollgate/runner/providers/KeyRoute"
import { nothingDiscovered } from "@tollgate/runner/providers/ProviderAccount"
import { Providers } from "@tollgate/runner/providers/Providers"
import { type RunResult, runFile } from "@tollgate/runner/run/RunPipeline"
import { Settings } from "@tollgate/runner/Settings"
import { CurrentCatalog } from "@tollgate/runner/store/CurrentCatalog"
import { StateStore } from "@tollgate/runner/store/StateStore"
import { Effect, Layer } from "effect"
import { describe, expect, it } from "vitest"

interface Sent {
  readonly body: Record<string, unknown>
  /** Items in the request: a pack's size, else 1. */
  readonly items: number
}

/** A provider in this process: echo's answers (each billed $0.0001), bent by `answer` when it returns one. */
const stub = (answer?: (body: Record<string, unknown>, n: number) => Outcome | undefined) => {
  const sent: Sent[] = []
  const provider = Layer.succeed(Provider, {
    send: (req) =>
      Effect.sync((): Outcome => {
        const body = req.body as Record<string, unknown>
        const schema = (
          body.response_format as
            | { json_schema?: { schema?: { properties?: { answers?: { minItems?: number } } } } }
            | undefined
        )?.json_schema?.schema?.properties?.answers
        sent.push({ body, items: schema?.minItems ?? 1 })
        const out = answer?.(body, sent.length) ?? reply(body)
        if (out._tag !== "Response") return out
        const b = out.body as { usage?: Record<string, unknown> }
        return { ...out, body: { ...b, usage: { ...b.usage, cost: 0.0001 } } }
      })
  })
  const providers = Layer.succeed(Providers, {
    layerFor: () => provider,
    isAccount: () => true,
    discover: () => Effect.succeed(nothingDiscovered),
    keys: { mint: () => Effect.fail("no"), remove: () => Effect.void },
    generation: () => Effect.succeed({ _tag: "failed", why: "stub" })
  })
  return { sent, providers }
}

const run = (
  yaml: string,
  providers: Layer.Layer<Providers>,
  opts: {
    /** Where the pipeline and its runs are, and the state dir: a second run in the same ones resumes or hits the cache. */
    readonly dir?: string
    readonly home?: string
    readonly outDir?: string
    readonly cache?: boolean
  } = {}
) => {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "tg-runpath-"))
  writeFileSync(join(dir, "p.yaml"), yaml)
  const home = opts.home ?? mkdtempSync(join(tmpdir(), "tg-runpath-home-"))
  const layer = Layer.mergeAll(
    Layer.succeed(Settings, {
      stateDir: home,
      store: undefined,
      baseUrl: undefined,
      legacyBaseUrl: undefined,
      catalogFile: undefined,
      cacheMaxMb: undefined,
      cacheMaxEntries: undefined
    }),
    Account.layer.pipe(
      Layer.provideMerge(providers),
      Layer.provide(
        Layer.effect(
          AccountCopies,
          Effect.map(StateStore, (store) => store.accounts)
        )
      ),
      Layer.provideMerge(StateStore.layerFile(home))
    ),
    CurrentCatalog.layerOf(CatalogStore.bundled())
  )
  return Effect.runPromise(
    runFile("p.yaml", {
      cwd: dir,
      keys: keyVariablesOf({}),
      outDir: opts.outDir ?? "runs",
      noCache: opts.cache !== true
    }).pipe(Effect.provide(layer), Effect.provide(NodeFileSystem.layer))
  ).then((r: RunResult) => {
    if (r.kind !== "ran") throw new Error("gated")
    return { ...r, dir, home }
  })
}

const head = `version: 1\nname: path\nprovider: { base_url: "http://stub.local/v1", kind: openai }\n`
const fan = (n: number, extra = "") =>
  `${head}inputs:\n  xs: { type: array, default: [${Array.from({ length: n }, (_, i) => i).join(", ")}] }\nsteps:\n  - { id: each, for_each: inputs.xs, model: openai/gpt-4o-mini, prompt: "item {{ item }}", max_tokens: 20${extra} }\n`

const text = (content: string): Outcome => ({
  _tag: "Response",
  status: 200,
  headers: {},
  body: {
    id: "x",
    choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
    usage: { prompt_tokens: 5, completion_tokens: 5 }
  }
})

describe("the run path over a stub provider", () => {
  it("a fan-out and a step reading it: outputs in item order, one record per item, every bill counted", async () => {
    const { sent, providers } = stub()
    const yaml = `${fan(6)}  - { id: all, model: openai/gpt-4o-mini, prompt: "{{ steps.each.outputs | join: ';' }}", max_tokens: 50 }\n`
    const r = await run(yaml, providers)
    expect(r.exitCode).toBe(0)
    expect(sent).toHaveLength(7)
    const each = r.summary.steps[0]!.actual
    expect([each.requests, each.completed, each.retries]).toEqual([6, 6, 0])
    expect(r.summary.actual.cost_usd_exact).toBe("0.0007")
    // the step reading the fan-out saw its outputs in item order
    const last = (sent[6]!.body.messages as Array<{ content: string }>).at(-1)!.content
    expect(last).toBe(Array.from({ length: 6 }, (_, i) => `echo: item ${i}`).join(";"))
    const lines = readFileSync(join(r.recordsDir, "steps", "each.jsonl"), "utf8")
      .trim()
      .split("\n")
    expect(lines.map((l) => JSON.parse(l).index).sort()).toEqual([0, 1, 2, 3, 4, 5])
  })

  it("a JSON step whose reply fails its schema is sent again; both attempts are billed and counted", async () => {
    const { sent, providers } = stub((_, n) => (n === 1 ? text("not json") : undefined))
    const yaml = `${head}steps:\n  - id: j\n    model: openai/gpt-4o-mini\n    prompt: hi\n    max_tokens: 50\n    output: { format: json, schema: { type: object, required: [n], properties: { n: { type: number } } } }\n`
    const r = await run(yaml, providers)
    expect(r.exitCode).toBe(0)
    expect(sent).toHaveLength(2)
    expect(r.summary.steps[0]!.actual.retries).toBe(1)
    expect(r.summary.actual.cost_usd_exact).toBe("0.0002")
    expect(r.summary.outputs).toEqual({})
  })

  it("packs: a reply one answer short is retried, then its items go in halves; exact sizes, all outputs", async () => {
    // the pack holding item 0 is answered one short, every time
    const { sent, providers } = stub((body) => {
      const messages = body.messages as Array<{ content: string }>
      const holdsZero = messages.some((m) => m.content.includes("item 0\n") || m.content.endsWith("item 0"))
      const schema = (
        body.response_format as
          | { json_schema?: { schema?: { properties?: { answers?: { minItems?: number } } } } }
          | undefined
      )?.json_schema?.schema?.properties?.answers
      if (!holdsZero || schema === undefined) return undefined
      const n = schema.minItems ?? 0
      return text(JSON.stringify({ answers: Array.from({ length: n - 1 }, () => "x") }))
    })
    const r = await run(
      fan(10, ", pack: 4").replace("inputs:", "limits: { concurrency: 1 }\ninputs:"),
      providers
    )
    expect(r.exitCode).toBe(0)
    // the pack 0..3: 3 attempts, then its half 0..1: 3 attempts, then 0 and 1 alone; the half 2..3; then 4..7 and 8..9
    expect(sent.map((s) => s.items)).toEqual([4, 4, 4, 2, 2, 2, 1, 1, 2, 4, 2])
    expect(r.summary.steps[0]!.actual.completed).toBe(10)
    expect(r.summary.actual.requests).toBe(sent.length)
    expect(r.summary.actual.cost_usd_exact).toBe((sent.length / 10_000).toString())
  })

  it("every request goes out only once its attempt is in the run's events file (a resume counts it)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tg-runpath-"))
    /** Attempts of each item on disk when the provider is asked. */
    const onDisk: number[] = []
    const attemptsOf = (item: number) => {
      const [run] = readdirSync(join(dir, "runs")).filter((name) => !name.startsWith("."))
      const lines = readFileSync(join(dir, "runs", run!, "events.ndjson"), "utf8")
        .trim()
        .split("\n")
      return lines.map((l) => JSON.parse(l)).filter((e) => e.type === "attempt" && e.item === item).length
    }
    const retried = new Set<number>()
    const { sent, providers } = stub((body, n) => {
      const item = Number(/item (\d+)/.exec(JSON.stringify(body.messages))![1])
      onDisk.push(attemptsOf(item))
      // every third request is refused once: its second attempt must be on disk before it goes too
      if (n % 3 !== 0 || retried.has(item)) return undefined
      retried.add(item)
      return { _tag: "Response", status: 500, headers: {}, body: { error: { message: "busy" } } }
    })
    const r = await run(fan(40).replace("inputs:", "limits: { concurrency: 8 }\ninputs:"), providers, { dir })
    expect(r.exitCode).toBe(0)
    expect(sent.length).toBe(40 + retried.size)
    expect(retried.size).toBeGreaterThan(0)
    // each send found its own attempt written: the first send of an item its first, a retry its second
    const seen = new Map<number, number>()
    for (const [i, s] of sent.entries()) {
      const item = Number(/item (\d+)/.exec(JSON.stringify(s.body.messages))![1])
      seen.set(item, (seen.get(item) ?? 0) + 1)
      expect(onDisk[i]).toBe(seen.get(item))
    }
  })

  it("a failed step stops the run unless it continues on error", async () => {
    const failing = () =>
      ({ _tag: "Response", status: 400, headers: {}, body: { error: { message: "bad" } } }) as Outcome
    const stops = stub(failing)
    const r = await run(
      `${fan(3)}  - { id: after, model: openai/gpt-4o-mini, prompt: "x", max_tokens: 5, needs: [each] }\n`,
      stops.providers
    )
    expect(r.exitCode).toBe(1)
    expect(r.summary.status).toBe("failed")
    // the step after it never sent: every request was one of the fan-out's (3 items, each tried up to 3 times at most)
    expect(stops.sent.every((s) => JSON.stringify(s.body.messages).includes("item"))).toBe(true)
    const goes = stub((body) => (JSON.stringify(body.messages).includes("item") ? failing() : undefined))
    const on = await run(
      `${fan(3, ", continue_on_error: true")}  - { id: after, model: openai/gpt-4o-mini, prompt: "x", max_tokens: 5, needs: [each] }\n`,
      goes.providers
    )
    expect(on.summary.steps[1]!.actual.completed).toBe(1)
    expect(on.summary.steps[0]!.actual.failed).toBe(3)
  })

  it("a run stopped by the provider resumes: what was answered is reused, not bought again", async () => {
    // out of credits from the 4th request on: the run stops, the first three answered
    const broke = stub((_, n) =>
      n > 3
        ? { _tag: "Response", status: 402, headers: {}, body: { error: { message: "no credits" } } }
        : undefined
    )
    const first = await run(
      fan(8, "").replace("inputs:", "limits: { concurrency: 1 }\ninputs:"),
      broke.providers
    ).catch((e) => e)
    expect(first.summary?.status ?? "stopped").not.toBe("completed")
    const dir = first.dir as string
    const paid = broke.sent.length - 1 // the refused request cost nothing
    expect(paid).toBe(3)
    const again = stub()
    const r = await run(
      fan(8, "").replace("inputs:", "limits: { concurrency: 1 }\ninputs:"),
      again.providers,
      {
        dir,
        home: first.home as string
      }
    )
    expect(r.exitCode).toBe(0)
    expect(r.summary.actual.reused).toBe(3)
    expect(again.sent).toHaveLength(5)
    // this process paid for the five it sent; the three bought before are not bought again
    expect(r.summary.actual.cost_usd_exact).toBe("0.0005")
    expect(r.summary.steps[0]!.actual.completed).toBe(8)
  })

  it("with the cache on, a second run of the same pipeline sends nothing: every answer a hit, at no cost", async () => {
    const once = stub()
    const first = await run(fan(5), once.providers, { cache: true })
    expect(once.sent).toHaveLength(5)
    const twice = stub()
    const r = await run(fan(5), twice.providers, {
      cache: true,
      dir: first.dir,
      home: first.home,
      outDir: "runs2"
    })
    expect(twice.sent).toHaveLength(0)
    expect(r.summary.actual.cached).toBe(5)
    expect(r.summary.actual.cost_usd_exact).toBe("0")
  })
})
