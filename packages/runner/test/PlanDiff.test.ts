/** Two plans of one pipeline compared: each step's move and why, the totals, the policy's verdict. */
import { diffPlans, type PlanDiff, parsePolicy, verdictOf } from "@tollgate/runner/plan/PlanDiff"
import type { PlanForDiff } from "@tollgate/runner/plan/SavedPlan"
import { commentMarker, diffJson, renderDiffMarkdown } from "@tollgate/runner/report/DiffReport"
import { describe, expect, it } from "vitest"

type Step = PlanForDiff["steps"][number]
const step = (
  id: string,
  over: Partial<Step> = {},
  def: Partial<NonNullable<Step["definition"]>> = {}
): Step => ({
  id,
  model: "openai/gpt-4o-mini",
  free: false,
  requests: 40,
  cached: 0,
  tokens: { prompt: { expected: 4000, max: 9000 }, completion: { expected: 2000, p90: 3000, max: 8000 } },
  cost_usd: { expected: 0.0018, p90: 0.0024, max: 0.006 },
  definition: {
    prompt_hash: "aaaa",
    max_tokens: 200,
    pack: 1,
    price_per_million: { prompt: 0.15, completion: 0.6 },
    ...def
  },
  ...over
})
const plan = (steps: Step[], name = "nightly"): PlanForDiff => ({
  format_version: 2,
  pipeline: { name, file: "p.yaml" },
  requests: { max: steps.reduce((n, s) => n + s.requests, 0) },
  free_requests: 0,
  cost_usd: {
    expected: steps.reduce((n, s) => n + s.cost_usd.expected, 0),
    p90: steps.reduce((n, s) => n + s.cost_usd.p90, 0),
    max: steps.reduce((n, s) => n + s.cost_usd.max, 0)
  },
  quota: { days: [] },
  steps
})
const diff = (a: PlanForDiff, b: PlanForDiff) => diffPlans(a, b) as PlanDiff

describe("plan diff", () => {
  it("says why each step moved: model, prompt, max_tokens, rows, pack, price, steps added and removed", () => {
    const base = plan([
      step("summarize"),
      step("digest", { requests: 1 }),
      step("old", { requests: 1 }),
      step("label", { requests: 10, items: 100 }, { pack: 10 }),
      step("same")
    ])
    const head = plan([
      step(
        "summarize",
        {
          requests: 50,
          tokens: { prompt: { expected: 7500, max: 1 }, completion: { expected: 0, p90: 0, max: 0 } }
        },
        { prompt_hash: "bbbb" }
      ),
      step(
        "digest",
        {
          requests: 1,
          model: "anthropic/claude-sonnet-4.5",
          cost_usd: { expected: 0.02, p90: 0.03, max: 0.1 }
        },
        { max_tokens: 600 }
      ),
      step(
        "label",
        { requests: 5, items: 100 },
        { pack: 20, price_per_million: { prompt: 0.2, completion: 0.6 } }
      ),
      step("same"),
      step("new", { requests: 3 })
    ])
    const d = diff(base, head)
    const why = Object.fromEntries(d.steps.map((s) => [s.id, s.reasons]))
    expect(why.summarize).toEqual([
      "prompt text changed (+50 tokens a request)",
      "data rows added: +10 (40 → 50)"
    ])
    expect(why.digest).toEqual([
      "model openai/gpt-4o-mini → anthropic/claude-sonnet-4.5",
      "max_tokens 200 → 600"
    ])
    expect(why.label).toEqual([
      "price changed: $0.15 → $0.2 per 1M prompt tokens, $0.6 → $0.6 per 1M completion tokens",
      "pack size 10 → 20"
    ])
    expect(why.same).toEqual([])
    expect(why.new).toEqual(["step added"])
    expect(why.old).toEqual(["step removed"])
    expect(d.steps.map((s) => [s.id, s.status])).toEqual([
      ["summarize", "changed"],
      ["digest", "changed"],
      ["label", "changed"],
      ["same", "unchanged"],
      ["new", "added"],
      ["old", "removed"]
    ])
  })

  it("plans of two pipelines are not compared", () => {
    expect(diffPlans(plan([], "a"), plan([], "b"))).toMatch(/the base plan is of pipeline "a", not "b"/)
  })

  it("the policy: percent or USD, on expected or max; over it names the steps that pushed it, dearest first", () => {
    const base = plan([step("a"), step("b")])
    const head = plan([
      step("a", { cost_usd: { expected: 0.0036, p90: 0.004, max: 0.006 } }),
      step("b", { cost_usd: { expected: 0.002, p90: 0.0024, max: 0.012 } })
    ])
    const d = diff(base, head)
    // expected 0.0036 → 0.0056: +55.6%
    expect(verdictOf(d, parsePolicy("60%", "expected")!).ok).toBe(true)
    const over = verdictOf(d, parsePolicy("50%", "expected")!)
    expect(over.ok).toBe(false)
    expect(over.culprits.map((c) => c.id)).toEqual(["a", "b"])
    expect(verdictOf(d, parsePolicy("$0.01", "expected")!).ok).toBe(true)
    // max 0.012 → 0.018: +$0.006
    expect(verdictOf(d, parsePolicy("0.005", "max")!).culprits.map((c) => c.id)).toEqual(["b"])
    expect(parsePolicy("ten", "expected")).toBeUndefined()
    // from $0, any increase passes a percentage
    expect(verdictOf(diff(plan([]), plan([step("a")])), parsePolicy("1000%", "expected")!).ok).toBe(false)
  })

  it("markdown for a PR comment: the marker first, the total and verdict on top, a chart; JSON has the change", () => {
    const d = diff(
      plan([step("a")]),
      plan([step("a", { cost_usd: { expected: 0.0036, p90: 0.004, max: 0.006 } })])
    )
    const v = verdictOf(d, parsePolicy("10%", "expected")!)
    const md = renderDiffMarkdown(d, v, "https://ci.example/run/7")
    const lines = md.split("\n")
    expect(lines[0]).toBe(commentMarker("nightly"))
    expect(lines[1]).toBe("### ❌ Tollgate cost check: `nightly`")
    expect(lines[3]).toBe("**$0.0018 → $0.0036 expected (+$0.0018, +100%); $0.006 → $0.006 at most (±$0)**")
    expect(md).toContain(
      "❌ over the policy (expected cost up by at most 10%): +$0.0018 (+100%), pushed by a +$0.0018"
    )
    expect(md).toContain("```mermaid\nxychart-beta")
    expect(md).toContain("[the run](https://ci.example/run/7)")
    const json = diffJson(d, v)
    expect(json.change.expected).toEqual({ usd: 0.0018, pct: 100 })
    expect(json.policy).toEqual({
      ok: false,
      rule: "expected cost up by at most 10%",
      culprits: [{ id: "a", change_usd: 0.0018 }]
    })
  })
})
