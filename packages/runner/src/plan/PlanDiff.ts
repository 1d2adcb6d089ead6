/**
 * What a change does to the bill: two plans of one pipeline compared per step and in total
 * (requests, tokens, free requests, days, cost expected / p90 / max), each step's move explained
 * in words (prompt, model, price, max_tokens, data rows, pack size, a step added or removed),
 * and a policy on the increase (`--fail-on-increase`). Pure.
 */
import type { PlanForDiff } from "./SavedPlan.ts"

type PlanStep = PlanForDiff["steps"][number]

export interface Figures {
  readonly requests: number
  readonly items: number
  readonly tokens: number
  readonly freeRequests: number
  readonly expected: number
  readonly p90: number
  readonly max: number
}

export interface StepDiff {
  readonly id: string
  readonly status: "added" | "removed" | "changed" | "unchanged"
  readonly model: { readonly before: string | undefined; readonly after: string | undefined }
  readonly before: Figures | undefined
  readonly after: Figures | undefined
  /** Why the step's figures moved, in words. */
  readonly reasons: ReadonlyArray<string>
}

export interface PlanDiff {
  readonly pipeline: string
  readonly before: Figures & { readonly days: number }
  readonly after: Figures & { readonly days: number }
  readonly steps: ReadonlyArray<StepDiff>
}

const modelOf = (s: PlanStep) => (typeof s.model === "string" ? s.model : s.model.join(" → "))

const figuresOf = (s: PlanStep): Figures => ({
  requests: s.requests,
  items: s.items ?? s.requests,
  tokens: s.tokens.prompt.expected + s.tokens.completion.expected,
  freeRequests: s.free ? s.requests - s.cached : 0,
  expected: s.cost_usd.expected,
  p90: s.cost_usd.p90,
  max: s.cost_usd.max
})

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`
const signed = (n: number) => `${n >= 0 ? "+" : "−"}${Math.abs(n).toLocaleString("en-US")}`
const perM = (n: number | null) => (n === null ? "free" : `$${n}`)

/** Why one step's figures moved between two plans, in words. */
export const reasonsOf = (before: PlanStep, after: PlanStep): string[] => {
  const reasons: string[] = []
  const b = before.definition
  const a = after.definition
  if (modelOf(before) !== modelOf(after)) reasons.push(`model ${modelOf(before)} → ${modelOf(after)}`)
  else if (
    b !== undefined &&
    a !== undefined &&
    (b.price_per_million.prompt !== a.price_per_million.prompt ||
      b.price_per_million.completion !== a.price_per_million.completion)
  )
    reasons.push(
      `price changed: ${perM(b.price_per_million.prompt)} → ${perM(a.price_per_million.prompt)} per 1M prompt tokens, ${perM(b.price_per_million.completion)} → ${perM(a.price_per_million.completion)} per 1M completion tokens`
    )
  if (b !== undefined && a !== undefined && b.prompt_hash !== a.prompt_hash) {
    const per = (s: PlanStep) => (s.requests > 0 ? s.tokens.prompt.expected / s.requests : 0)
    const delta = Math.round(per(after) - per(before))
    reasons.push(`prompt text changed (${signed(delta)} tokens a request)`)
  }
  if (b !== undefined && a !== undefined && b.max_tokens !== a.max_tokens)
    reasons.push(`max_tokens ${b.max_tokens} → ${a.max_tokens}`)
  const items = (s: PlanStep) => s.items ?? s.requests
  if (items(before) !== items(after)) {
    const d = items(after) - items(before)
    reasons.push(
      `data rows ${d > 0 ? "added" : "removed"}: ${signed(d)} (${items(before)} → ${items(after)})`
    )
  }
  if (b !== undefined && a !== undefined && b.pack !== a.pack)
    reasons.push(
      a.pack === 1 ? `no longer packed (was ${b.pack} a request)` : `pack size ${b.pack} → ${a.pack}`
    )
  if (before.cached !== after.cached) {
    const d = after.cached - before.cached
    reasons.push(`${plural(Math.abs(d), "request")} ${d > 0 ? "more" : "fewer"} answered from the cache`)
  }
  return reasons
}

const moved = (a: Figures, b: Figures) =>
  a.expected !== b.expected || a.max !== b.max || a.p90 !== b.p90 || a.requests !== b.requests

const stepDiff = (before: PlanStep | undefined, after: PlanStep | undefined): StepDiff => {
  const id = (after ?? before)!.id
  const model = {
    before: before === undefined ? undefined : modelOf(before),
    after: after === undefined ? undefined : modelOf(after)
  }
  if (before === undefined)
    return {
      id,
      status: "added",
      model,
      before: undefined,
      after: figuresOf(after!),
      reasons: ["step added"]
    }
  if (after === undefined)
    return {
      id,
      status: "removed",
      model,
      before: figuresOf(before),
      after: undefined,
      reasons: ["step removed"]
    }
  const [b, a] = [figuresOf(before), figuresOf(after)]
  const reasons = reasonsOf(before, after)
  const changed = moved(b, a) || reasons.length > 0
  return {
    id,
    status: changed ? "changed" : "unchanged",
    model,
    before: b,
    after: a,
    // figures that moved with nothing in the pipeline to say why: what earlier runs taught the plan, or the account
    reasons:
      changed && reasons.length === 0
        ? ["estimates moved (history of earlier runs, or the account)"]
        : reasons
  }
}

const totals = (p: PlanForDiff) => ({
  requests: p.requests.max,
  items: p.steps.reduce((n, s) => n + (s.items ?? s.requests), 0),
  tokens: p.steps.reduce((n, s) => n + s.tokens.prompt.expected + s.tokens.completion.expected, 0),
  freeRequests: p.free_requests,
  expected: p.cost_usd.expected,
  p90: p.cost_usd.p90,
  max: p.cost_usd.max,
  days: p.quota.days.length
})

/** The diff of two plans of one pipeline, or why they cannot be compared. */
export const diffPlans = (base: PlanForDiff, head: PlanForDiff): PlanDiff | string => {
  if (base.pipeline.name !== head.pipeline.name)
    return `the base plan is of pipeline "${base.pipeline.name}", not "${head.pipeline.name}": compare plans of one pipeline`
  const ids = [...new Set([...head.steps.map((s) => s.id), ...base.steps.map((s) => s.id)])]
  const find = (p: PlanForDiff, id: string) => p.steps.find((s) => s.id === id)
  return {
    pipeline: head.pipeline.name,
    before: totals(base),
    after: totals(head),
    steps: ids.map((id) => stepDiff(find(base, id), find(head, id)))
  }
}

/** `--fail-on-increase`: at most this much more, in percent of the base or in USD. */
export type Policy =
  | { readonly kind: "pct"; readonly value: number; readonly on: "expected" | "max" }
  | { readonly kind: "usd"; readonly value: number; readonly on: "expected" | "max" }

/** `10%` or `0.50` (`$0.50`) as a policy, or undefined when it is neither. */
export const parsePolicy = (text: string, on: "expected" | "max"): Policy | undefined => {
  const t = text.trim()
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(t)
  if (pct !== null) return { kind: "pct", value: Number(pct[1]), on }
  const usd = /^\$?(\d+(?:\.\d+)?)$/.exec(t)
  return usd !== null ? { kind: "usd", value: Number(usd[1]), on } : undefined
}

export const describePolicy = (p: Policy): string =>
  `${p.on} cost up by at most ${p.kind === "pct" ? `${p.value}%` : `$${p.value}`}`

/** Change in USD and in percent (undefined from $0). */
export const change = (before: number, after: number) => ({
  usd: Math.round((after - before) * 1e9) / 1e9,
  pct: before > 0 ? Math.round(((after - before) / before) * 1000) / 10 : after > 0 ? undefined : 0
})

export interface Verdict {
  readonly ok: boolean
  readonly policy: Policy
  /** The steps whose increase pushed the total over, dearest first. */
  readonly culprits: ReadonlyArray<{ readonly id: string; readonly usd: number }>
}

/** Whether the change is within the policy; when not, the steps that pushed it over. */
export const verdictOf = (d: PlanDiff, policy: Policy): Verdict => {
  const pick = (f: Figures | undefined) => (f === undefined ? 0 : policy.on === "max" ? f.max : f.expected)
  const c = change(pick(d.before), pick(d.after))
  const over =
    policy.kind === "usd"
      ? c.usd > policy.value + 1e-12
      : c.pct === undefined
        ? c.usd > 0
        : c.pct > policy.value + 1e-9
  const culprits = d.steps
    .map((s) => ({ id: s.id, usd: change(pick(s.before), pick(s.after)).usd }))
    .filter((s) => s.usd > 0)
    .sort((a, b) => b.usd - a.usd)
  return { ok: !over, policy, culprits: over ? culprits : [] }
}
