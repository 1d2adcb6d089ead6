/** Settling against the provider's bill: which requests, in rounds under a time limit (TestClock), and the drift. */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Money } from "@tollgate/pricing"
import type { Lookup } from "@tollgate/runner/providers/GenerationApi"
import { resettled } from "@tollgate/runner/run/Reconcile"
import { readFinished } from "@tollgate/runner/run/Records"
import {
  billedRequests,
  driftJson,
  driftLine,
  driftOf,
  extraOf,
  type SettlementLine,
  type Target,
  unsettled
} from "@tollgate/runner/run/Settlement"
import { settleTargets } from "@tollgate/runner/run/SettleWithProvider"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"

const target = (id: string, cost: string, step = "s"): Target => ({
  generationId: id,
  step,
  key: `k-${id}`,
  replyCost: Money.usd(cost)
})
const line = (id: string, reply: string, settled: string, step = "s"): SettlementLine => ({
  generation_id: id,
  step,
  key: `k-${id}`,
  reply_cost_usd: reply,
  settled_cost_usd: settled,
  settled_at: "2026-12-04T00:00:00.000Z"
})

describe("which requests are settled", () => {
  it("answered paid requests with a generation id, once each; not cached, reused, free or failed ones", () => {
    const records = new Map([
      [
        "s",
        [
          { index: 0, key: "a", status: "ok" as const, cost_usd: "0.001", generation_id: "gen-1" },
          // retried: the answer's own figure is what its bill is compared with
          {
            index: 1,
            key: "b",
            status: "ok" as const,
            cost_usd: "0.003",
            answer_cost_usd: "0.001",
            generation_id: "gen-2"
          },
          { index: 2, key: "c", status: "ok" as const, cost_usd: "0", generation_id: "gen-3" },
          {
            index: 3,
            key: "d",
            status: "ok" as const,
            cost_usd: "0.001",
            cached: true,
            generation_id: "gen-4"
          },
          {
            index: 4,
            key: "e",
            status: "ok" as const,
            cost_usd: "0.001",
            reused: true,
            generation_id: "gen-5"
          },
          { index: 5, key: "f", status: "error" as const, cost_usd: "0.001" },
          { index: 6, key: "a", status: "ok" as const, cost_usd: "0.001", generation_id: "gen-1" }
        ]
      ]
    ])
    const t = billedRequests(records)
    assert.deepStrictEqual(
      t.map((x) => [x.generationId, Money.toPlain(x.replyCost)]),
      [
        ["gen-1", "0.001"],
        ["gen-2", "0.001"]
      ]
    )
    assert.deepStrictEqual(
      unsettled(t, [line("gen-1", "0.001", "0.0011")]).map((x) => x.generationId),
      ["gen-2"]
    )
  })

  it("the drift, per step and in all; the budget counts only what bills add over replies", () => {
    const targets = [target("g1", "0.001", "a"), target("g2", "0.002", "a"), target("g3", "0.004", "b")]
    const lines = [line("g1", "0.001", "0.0012", "a"), line("g3", "0.004", "0.0039", "b")]
    const all = driftJson(driftOf(targets, lines))
    assert.strictEqual(all.requests, 3)
    assert.strictEqual(all.settled, 2)
    assert.strictEqual(all.reply_usd, "0.005")
    assert.strictEqual(all.settled_usd, "0.0051")
    assert.strictEqual(all.drift_usd, "0.0001")
    assert.strictEqual(all.drift_pct, 2)
    assert.strictEqual(all.unsettled_reply_usd, "0.002")
    // g3's bill is below its reply: the larger (the reply) stands
    assert.strictEqual(Money.toPlain(extraOf(lines)), "0.0002")
    assert.strictEqual(driftJson(driftOf(targets, lines, (s) => s === "b")).drift_usd, "-0.0001")
    assert.match(
      driftLine(all),
      /^settled against the provider: 2 of 3 requests, drift \+\$0\.0001 \(\+2%\); 1 unsettled \(\$0\.002 by the replies' figures\)/
    )
  })
})

describe("settling in rounds", () => {
  it.effect("asks again with growing pauses until the bill is recorded; stops at the time limit", () =>
    Effect.gen(function* () {
      const asked: Array<[string, number]> = []
      const readyAt: Record<string, number> = { g1: 0, g2: 2_500, g3: 60_000 }
      const ask = (id: string) =>
        Effect.map(
          Effect.clockWith((c) => c.currentTimeMillis),
          (now): Lookup => {
            asked.push([id, now])
            return now >= readyAt[id]!
              ? { _tag: "settled", totalCost: Money.usd("0.002"), nativePrompt: 120, nativeCompletion: 9 }
              : { _tag: "pending", why: "404" }
          }
        )
      const fiber = yield* Effect.forkChild(
        settleTargets([target("g1", "0.001"), target("g2", "0.001"), target("g3", "0.001")], ask, {
          timeoutMs: 10_000
        })
      )
      for (let i = 0; i < 40; i++) {
        yield* Effect.yieldNow
        yield* TestClock.adjust(500)
      }
      const r = yield* Fiber.join(fiber)
      assert.deepStrictEqual(
        r.lines.map((l) => [l.generation_id, l.settled_cost_usd, l.native_tokens_prompt]),
        [
          ["g1", "0.002", 120],
          ["g2", "0.002", 120]
        ]
      )
      assert.deepStrictEqual(
        r.pending.map((t) => t.generationId),
        ["g3"]
      )
      // rounds at 0, 1 s, 3 s, 7 s (pauses 1, 2, 4 s); none after the 10 s limit
      const g3 = asked.filter(([id]) => id === "g3").map(([, at]) => at)
      assert.deepStrictEqual(g3, [0, 1_000, 3_000, 7_000])
      assert.deepStrictEqual(
        asked.filter(([id]) => id === "g1").map(([, at]) => at),
        [0]
      )
    })
  )

  it.effect("a refusal is not asked again, and is reported once", () =>
    Effect.gen(function* () {
      let calls = 0
      const r = yield* settleTargets(
        [target("g1", "0.001"), target("g2", "0.001")],
        () =>
          Effect.sync((): Lookup => {
            calls++
            return { _tag: "failed", why: "GET /generation answered HTTP 401" }
          }),
        { timeoutMs: 10_000 }
      )
      assert.strictEqual(calls, 2)
      assert.deepStrictEqual(r.failures, ["GET /generation answered HTTP 401"])
      assert.strictEqual(r.lines.length, 0)
    })
  )
})

describe("the bill in the records", () => {
  it("a resume counts a bill above its reply at the bill", () => {
    const dir = mkdtempSync(join(tmpdir(), "tollgate-settle-"))
    mkdirSync(join(dir, "steps"))
    writeFileSync(
      join(dir, "steps", "s.jsonl"),
      `${JSON.stringify({ index: 0, key: "a", status: "ok", cost_usd: "0.001", generation_id: "g1" })}\n`
    )
    assert.strictEqual(Money.toPlain(readFinished(dir).spent), "0.001")
    writeFileSync(
      join(dir, "settlements.jsonl"),
      `${JSON.stringify(line("g1", "0.001", "0.0015"))}\n{"cut short\n`
    )
    assert.strictEqual(Money.toPlain(readFinished(dir).spent), "0.0015")
  })

  it("a reconciled summary counts the new bills once, however often it is reconciled", () => {
    const targets = [target("g1", "0.001"), target("g2", "0.001")]
    const summary = {
      actual: { cost_usd: 0.002, cost_usd_exact: "0.002", cost_sources: {} },
      steps: [{ id: "s", actual: { cost_usd: 0.002 } }]
    }
    const once = resettled(summary, { targets, lines: [line("g1", "0.001", "0.0013")] })
    const twice = resettled(once, {
      targets,
      lines: [line("g1", "0.001", "0.0013"), line("g2", "0.001", "0.0011")]
    })
    const actual = twice.actual as { cost_usd_exact: string; settlement: { settled: number } }
    assert.strictEqual(actual.cost_usd_exact, "0.0024")
    assert.strictEqual(actual.settlement.settled, 2)
    assert.strictEqual((twice.steps as Array<{ actual: { cost_usd: number } }>)[0]!.actual.cost_usd, 0.0024)
  })
})
