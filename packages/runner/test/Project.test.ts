/** The projection's arithmetic, checked against numbers worked out by hand from the catalog's prices. */
import { Money } from "@tollgate/pricing"
import { buildBody } from "@tollgate/runner/dsl/Request"
import { emptyIndex } from "@tollgate/runner/plan/Calibration"
import { project } from "@tollgate/runner/plan/Project"
import { describe, expect, it } from "vitest"
import { pipelineOf, projectInput } from "./support/Pipelines.ts"

const input = projectInput

const usd = (m: Money.Usd) => Money.toPlain(m)

// openai/gpt-4o-mini: $0.15 per 1M prompt tokens, $0.60 per 1M completion tokens
const ONE =
  "version: 1\nname: one\nsteps:\n  - { id: a, model: openai/gpt-4o-mini, prompt: hello world, max_tokens: 100 }\n"

const FAN = `version: 1
name: fan
inputs:
  xs: { type: array, default: [alpha, beta, gamma] }
steps:
  - id: a
    for_each: inputs.xs
    model: openai/gpt-4o-mini
    system: You are terse.
    prompt: "Summarize: {{ item }}"
    max_tokens: 10
    retry: { max_attempts: 3 }
    output: { format: json }
`

describe("project", () => {
  it("one request: o200k tokens plus framing expected, bytes plus framing at most, half of max_tokens expected", () => {
    const p = project(input(ONE))
    const s = p.steps[0]!
    // "hello world" is 2 tokens and 11 bytes; 4 per message and 3 per request expected, 16 per message at most
    expect(s.tokens.prompt).toEqual({ expected: 3 + 4 + 2, max: 16 + 11 })
    expect(s.tokens.completion).toEqual({ expected: 50, p90: 100, max: 100 })
    // 9 × 0.15e-6 + 50 × 0.6e-6, and 27 × 0.15e-6 + 100 × 0.6e-6
    expect(usd(p.costExpected)).toBe("0.00003135")
    expect(usd(p.costMax)).toBe("0.00006405")
    expect(p.requests).toEqual({ expected: 1, max: 1, cached: 0 })
    expect(p.violations).toEqual([])
  })

  it("a JSON fan-out: every item counted, the bound times max_attempts (rejected replies are billed)", () => {
    const p = project(input(FAN))
    const s = p.steps[0]!
    // per request: 3 + (4 + 4 "You are terse.") + (4 + 5 "Summarize: x") = 20 expected;
    // at most (16 + 14) + (16 + 16|15|16 bytes) = 62, 61, 62
    expect(s.tokens.prompt).toEqual({ expected: 60, max: 185 })
    expect(s.tokens.completion).toEqual({ expected: 15, p90: 30, max: 90 })
    // 60 × 0.15e-6 + 15 × 0.6e-6; (185 × 0.15e-6 + 30 × 0.6e-6) × 3
    expect(usd(s.costExpected)).toBe("0.000018")
    expect(usd(s.costMax)).toBe("0.00013725")
    // the largest request's reservation: 62 prompt + 10 completion tokens
    expect(usd(s.maxRequestCost)).toBe("0.0000153")
  })

  it("cached requests cost nothing and are not sent; measured reply lengths replace the half-of-max_tokens guess", () => {
    const body = buildBody(pipelineOf(FAN).steps[0]!, [
      { role: "system", content: "You are terse." },
      { role: "user", content: "Summarize: beta" }
    ])
    // 200 replies of 7 tokens: the default (5) weighs 3 of 203
    const calibration = {
      ...emptyIndex,
      steps: { "fan/a/openai/gpt-4o-mini": { completion: Array.from({ length: 200 }, () => 7) } }
    }
    const p = project(input(FAN, { cached: new Set([JSON.stringify(body.messages)]), calibration }))
    const s = p.steps[0]!
    expect(s.cached).toBe(1)
    expect(s.tokens.prompt).toEqual({ expected: 40, max: 124 })
    expect(s.tokens.completion).toEqual({ expected: 14, p90: 14, max: 60 })
    expect(p.requests).toEqual({ expected: 2, max: 2, cached: 1 })
  })

  it("gates: max_cost_usd against the bound, today's free quota, and an unbounded count", () => {
    const over = project(input(FAN.replace("steps:", "budget: { max_cost_usd: 0.0001 }\nsteps:")))
    expect(over.violations.map((v) => v.kind)).toEqual(["max_cost_usd"])
    expect(over.violations[0]!.message).toBe("maximum cost $0.000137 exceeds budget.max_cost_usd $0.0001")
    const free = project(
      input(FAN.replace("openai/gpt-4o-mini", "openai/gpt-oss-20b:free"), { freeUsedToday: 48 })
    )
    expect(free.quota).toMatchObject({ freePerDay: 50, freeUsedToday: 48, freeLeftToday: 2 })
    expect(free.quota.days).toEqual([
      { date: "2026-11-23", requests: 2 },
      { date: "2026-11-24", requests: 1 }
    ])
    expect(free.violations.map((v) => v.kind)).toEqual(["free_quota"])
    // 3 requests fit one window of 20 rpm: they go at once
    expect(free.minDurationS).toBe(0)
    const unbounded = project(
      input(
        'version: 1\nname: u\nsteps:\n  - { id: a, model: openai/gpt-oss-20b:free, prompt: list, max_tokens: 5, output: { format: json } }\n  - { id: b, for_each: steps.a.output, model: openai/gpt-oss-20b:free, prompt: "{{ item }}", max_tokens: 5 }\n'
      )
    )
    expect(unbounded.complete).toBe(false)
    expect(unbounded.violations.map((v) => v.kind)).toEqual(["incomplete"])
  })

  it("an upstream output in a prompt counts as its expected completion, and as its max_tokens in the bound", () => {
    const p = project(
      input(
        'version: 1\nname: up\nsteps:\n  - { id: a, model: openai/gpt-4o-mini, prompt: hello world, max_tokens: 100 }\n  - { id: b, model: openai/gpt-4o-mini, prompt: "{{ steps.a.output }}", max_tokens: 10 }\n'
      )
    )
    expect(p.steps[1]!.tokens.prompt).toEqual({ expected: 3 + 4 + 50, max: 16 + 100 })
  })

  it("a prompt that reads an upstream step is never counted as cached (its plan-time text is a stand-in)", () => {
    const yaml =
      'version: 1\nname: up\nsteps:\n  - { id: a, model: openai/gpt-4o-mini, prompt: hello world, max_tokens: 100 }\n  - { id: b, model: openai/gpt-4o-mini, prompt: "{% if steps.a.output %}yes{% endif %}", max_tokens: 10 }\n'
    const cached = new Set([JSON.stringify([{ role: "user", content: "yes" }])])
    const p = project(input(yaml, { cached }))
    expect(p.steps[1]!.cached).toBe(0)
    expect(p.requests.max).toBe(2)
  })

  it("free requests beyond today's quota: the UTC days they need and how many fall on each, in the gate's message", () => {
    const xs = Array.from({ length: 120 }, (_, i) => i).join(", ")
    const yaml = `version: 1\nname: days\ninputs:\n  xs: { type: array, default: [${xs}] }\nsteps:\n  - { id: a, for_each: inputs.xs, model: openai/gpt-oss-20b:free, prompt: "{{ item }}", max_tokens: 5 }\n`
    const p = project(input(yaml))
    expect(p.quota.days).toEqual([
      { date: "2026-11-23", requests: 50 },
      { date: "2026-11-24", requests: 50 },
      { date: "2026-11-25", requests: 20 }
    ])
    const gate = p.violations.find((v) => v.kind === "free_quota")!
    expect(gate.message).toContain(
      "they need 3 UTC days (50 on 2026-11-23, 50 on 2026-11-24, 20 on 2026-11-25)"
    )
    expect(gate.message).toContain("runner run --until-done")
    // 30 already used today, and a run share of 40 a day: 20 today, then 40 a day
    const shared = project(
      input(yaml.replace("steps:", "budget: { max_free_requests: 40 }\nsteps:"), { freeUsedToday: 30 })
    )
    expect(shared.quota.days.map((d) => d.requests)).toEqual([20, 40, 40, 20])
    const small = yaml.replace(`[${xs}]`, "[1, 2, 3]")
    expect(project(input(small)).quota.days).toEqual([{ date: "2026-11-23", requests: 3 }])
  })
})
