/**
 * The projection: what a run will send and cost, computed before anything is sent. Pure over
 * its inputs (pipeline, input values, catalog, policy, ledger reading, cache lookup, history).
 */
import { Limits } from "@tollgate/core"
import { type Catalog, Cost, Money, Policy } from "@tollgate/pricing"
import { Drop } from "liquidjs"
import type { Message, Pipeline, Step } from "./Pipeline.ts"
import { buildBody } from "./Requests.ts"
import { dependenciesOfExpression, order as stepOrder } from "./SchedulerOrder.ts"
import { evaluate, isTruthy, liquid, parse } from "./Templates.ts"
import {
  expectedTokens,
  maxTokens,
  PER_MESSAGE_EXPECTED,
  PER_MESSAGE_MAX,
  PER_REQUEST_EXPECTED
} from "./Tokens.ts"

/** Without history, a step is expected to use this share of its `max_tokens`. */
export const DEFAULT_COMPLETION_FRACTION = 0.5

export interface ProjectInput {
  readonly pipeline: Pipeline
  readonly inputs: Readonly<Record<string, unknown>>
  readonly catalog: Catalog.Catalog
  readonly policy: Policy.Policy
  readonly fingerprint: string
  /** Free-model requests already used today (the ledger). */
  readonly freeUsedToday: number
  /** Whether the cache holds a reply for this request (no send). */
  readonly isCached: (body: Readonly<Record<string, unknown>>) => boolean
  /** Mean completion tokens per request from earlier runs, by step id. */
  readonly history: Readonly<Record<string, number>>
  readonly now: Date
  /** `--max-cost`: tightens budget.max_cost_usd. */
  readonly maxCostOverride?: number | undefined
}

export interface Range {
  readonly expected: number
  readonly max: number
}

export interface StepProjection {
  readonly id: string
  readonly model: string | ReadonlyArray<string>
  readonly free: boolean
  /** `when` is false from the inputs alone: the step will not run. */
  readonly skipped: boolean
  /** Requests this step makes (elements of for_each), cached ones included. */
  readonly requests: number
  readonly cached: number
  /** False when the count depends on an upstream output and no max_items bounds it. */
  readonly countKnown: boolean
  readonly tokens: { readonly prompt: Range; readonly completion: Range }
  readonly costExpected: Money.Usd
  readonly costMax: Money.Usd
  /** The largest single request: what a budget reservation holds for it. */
  readonly maxRequestCost: Money.Usd
  readonly maxPromptTokens: number
  readonly contextLength: number | undefined
  readonly expectedPromptPeak: number
}

export interface Violation {
  readonly kind:
    | "max_cost_usd"
    | "max_requests"
    | "max_free_requests"
    | "free_quota"
    | "context_window"
    | "incomplete"
  readonly message: string
}

export interface Projection {
  readonly complete: boolean
  readonly steps: ReadonlyArray<StepProjection>
  readonly requests: { readonly expected: number; readonly max: number; readonly cached: number }
  readonly freeRequests: number
  readonly costExpected: Money.Usd
  readonly costMax: Money.Usd
  readonly minDurationS: number
  readonly quota: {
    readonly freePerDay: number
    readonly freeUsedToday: number
    readonly freeLeftToday: number
  }
  readonly budget: {
    readonly maxCostUsd: number | undefined
    readonly maxRequests: number | undefined
    readonly maxFreeRequests: number | undefined
    readonly gate: "max" | "expected"
  }
  readonly violations: ReadonlyArray<Violation>
}

const MARK = "\u0000"

/** Stands for an upstream output at plan time: any field of it is itself; it renders as a marker. */
class Upstream extends Drop {
  readonly marker: string
  constructor(marker: string) {
    super()
    this.marker = marker
  }
  override liquidMethodMissing(): Upstream {
    return this
  }
  override valueOf(): string {
    return this.marker
  }
  override toString(): string {
    return this.marker
  }
}

interface Known {
  readonly requests: number
  readonly completion: Range
}

const markerFor = (i: number) => `${MARK}${i}${MARK}`
const MARKER_RE = new RegExp(`${MARK}(\\d+)${MARK}`, "g")

/** Number of elements `for_each` yields, when inputs alone decide it. */
const countOf = (step: Step, scope: Record<string, unknown>): { items: unknown[] | undefined } => {
  if (step.forEach === undefined) return { items: [undefined] }
  if (/\bsteps\b/.test(step.forEach)) return { items: undefined }
  const v = evaluate(step.forEach, scope)
  return { items: Array.isArray(v) ? v : undefined }
}

/**
 * Exact cost sums over many requests without one BigDecimal computation per request: cost is
 * linear in tokens within a price tier, so requests are grouped by tier (and, for the bound, by
 * which fallback model is dearest for them) and each group is priced once.
 */
const stepPricing = (
  models: ReadonlyArray<Catalog.Model>,
  maxTokensPerRequest: number,
  completionExpected: number,
  now: Date
) => {
  const primary = models[0]!
  const expectedGroups = new Map<
    Catalog.Override | undefined,
    { n: number; prompt: number; rates: Catalog.Rates }
  >()
  // per model: its price tiers (thresholds), each with worst-case rates and float rates for comparing
  const tiers = models.map((m) => {
    const thresholds = [0, ...new Set(m.overrides.map((o) => o.minPromptTokens ?? 0))].sort((a, b) => a - b)
    return thresholds.map((t) => {
      const rates = Cost.worstRates(m, t)
      const f = (r: Catalog.Rate | undefined) => (r === null || r === undefined ? 0 : Money.toNumber(r))
      return {
        threshold: t,
        rates,
        prompt: f(rates.prompt),
        fixed: f(rates.completion) * maxTokensPerRequest + f(rates.request)
      }
    })
  })
  const worstGroups = new Map<
    string,
    { model: Catalog.Model; rates: Catalog.Rates; n: number; prompt: number }
  >()
  let peak = { value: -1, model: primary, prompt: 0 }
  return {
    add(pe: number, pm: number) {
      const { rates, override } = Cost.ratesFor(primary, pe, now)
      const g = expectedGroups.get(override) ?? { n: 0, prompt: 0, rates }
      g.n++
      g.prompt += pe
      expectedGroups.set(override, g)
      let best = -1
      let bestKey = ""
      let bestModel = primary
      let bestRates = primary.rates
      tiers.forEach((ts, mi) => {
        let tier = ts[0]!
        for (const t of ts) if (pm >= t.threshold) tier = t
        const value = tier.prompt * pm + tier.fixed
        if (value > best) {
          best = value
          bestKey = `${mi}:${tier.threshold}`
          bestModel = models[mi]!
          bestRates = tier.rates
        }
      })
      const w = worstGroups.get(bestKey) ?? { model: bestModel, rates: bestRates, n: 0, prompt: 0 }
      w.n++
      w.prompt += pm
      worstGroups.set(bestKey, w)
      if (best > peak.value) peak = { value: best, model: bestModel, prompt: pm }
    },
    totals() {
      let costExpected = Money.zero
      for (const g of expectedGroups.values())
        costExpected = Money.add(
          costExpected,
          Cost.costWithRates(primary, g.rates, {
            promptTokens: g.prompt,
            completionTokens: completionExpected * g.n,
            requests: g.n
          }).total
        )
      let worstPerAttempt = Money.zero
      for (const g of worstGroups.values())
        worstPerAttempt = Money.add(
          worstPerAttempt,
          Cost.costWithRates(g.model, g.rates, {
            promptTokens: g.prompt,
            completionTokens: maxTokensPerRequest * g.n,
            requests: g.n
          }).total
        )
      let maxRequestCost = Money.zero
      if (peak.value >= 0)
        for (const m of models)
          maxRequestCost = Money.max(
            maxRequestCost,
            Cost.worstCost(m, { promptTokens: peak.prompt, completionTokens: maxTokensPerRequest }).total
          )
      return { costExpected, worstPerAttempt, maxRequestCost }
    }
  }
}

export const project = (input: ProjectInput): Projection => {
  const { pipeline, catalog } = input
  const order = stepOrder(pipeline)
  const known = new Map<string, Known>()
  const upstreamIndex = new Map<string, number>()
  order.forEach((s, i) => {
    upstreamIndex.set(s.id, i)
  })
  const steps: StepProjection[] = []
  let complete = true

  for (const step of order) {
    const models = step.models.map((id) => catalog.resolveOrThrow(id).model)
    const free = models.every((m) => m.free)
    const completionExpected = Math.min(
      step.maxTokens,
      Math.round(input.history[step.id] ?? step.maxTokens * DEFAULT_COMPLETION_FRACTION)
    )
    // scope: inputs are real; upstream outputs are markers that any field access keeps
    const stepsScope: Record<string, unknown> = {}
    for (const [id, k] of known) {
      const marker = markerFor(upstreamIndex.get(id)!)
      const up = new Upstream(marker)
      stepsScope[id] = { output: up, outputs: Array.from({ length: k.requests }, () => up) }
    }
    const baseScope: Record<string, unknown> = { inputs: input.inputs, steps: stepsScope }
    // a `when` that reads only inputs is decided now: a step it turns off sends nothing
    const skipped =
      step.when !== undefined && !/\bsteps\b/.test(step.when) && !isTruthy(evaluate(step.when, baseScope))
    const counted = skipped ? { items: [] } : countOf(step, baseScope)
    let items = counted.items
    let countKnown = true
    if (items === undefined) {
      // each element stands for the upstream output it comes from (counted at that step's completion)
      const from = dependenciesOfExpression(step.forEach ?? "").find((id) => upstreamIndex.has(id))
      const element = new Upstream(from !== undefined ? markerFor(upstreamIndex.get(from)!) : "")
      if (step.maxItems !== undefined) items = Array.from({ length: step.maxItems }, () => element)
      else {
        countKnown = false
        complete = false
        items = []
      }
    } else if (step.maxItems !== undefined && items.length > step.maxItems)
      items = items.slice(0, step.maxItems)
    const dependsOnUpstream = step.messages.some((m) => /\bsteps\b/.test(m.content))
    const templates = step.messages.map((m) => parse(m.content))

    let promptExpected = 0
    let promptMax = 0
    let cached = 0
    let maxPromptTokens = 0
    let expectedPromptPeak = 0
    const attemptsBilled = step.format === "json" ? step.maxAttempts : 1
    const pricing = stepPricing(models, step.maxTokens, completionExpected, input.now)
    // messages without template syntax are rendered and counted once
    const staticText = step.messages.map((m) => (/\{[{%]/.test(m.content) ? undefined : m.content))
    const staticCounts = staticText.map((t) =>
      t === undefined ? undefined : { e: expectedTokens(t), m: maxTokens(t) }
    )
    for (let index = 0; index < items.length; index++) {
      const scope: Record<string, unknown> =
        step.forEach !== undefined ? { ...baseScope, [step.as]: items[index], index } : baseScope
      let pe = PER_REQUEST_EXPECTED
      let pm = 0
      const rendered: Message[] = []
      step.messages.forEach((m, j) => {
        pe += PER_MESSAGE_EXPECTED
        pm += PER_MESSAGE_MAX
        const counts = staticCounts[j]
        if (counts !== undefined) {
          pe += counts.e
          pm += counts.m
          rendered.push({ role: m.role, content: staticText[j]! })
          return
        }
        const text = liquid.renderSync(templates[j]!, scope)
        if (!text.includes(MARK)) {
          pe += expectedTokens(text)
          pm += maxTokens(text)
          rendered.push({ role: m.role, content: text })
          return
        }
        for (const match of text.matchAll(MARKER_RE)) {
          const upstream = order[Number(match[1])]
          const k = upstream ? known.get(upstream.id) : undefined
          // an upstream output counts as its expected completion, and as its max_tokens in the bound
          pe += k?.completion.expected ?? 0
          pm += k?.completion.max ?? 0
        }
        const rest = text.replace(MARKER_RE, "")
        pe += expectedTokens(rest)
        pm += maxTokens(rest)
      })
      if (
        !dependsOnUpstream &&
        step.cache &&
        rendered.length === step.messages.length &&
        input.isCached(buildBody(step, rendered))
      ) {
        cached++
        continue
      }
      promptExpected += pe
      promptMax += pm
      maxPromptTokens = Math.max(maxPromptTokens, pm)
      expectedPromptPeak = Math.max(expectedPromptPeak, pe)
      pricing.add(pe, pm)
    }
    const { costExpected, worstPerAttempt, maxRequestCost } = pricing.totals()
    const costMax = Money.times(worstPerAttempt, attemptsBilled)
    const sent = items.length - cached
    known.set(step.id, {
      requests: items.length,
      completion: { expected: completionExpected, max: step.maxTokens }
    })
    steps.push({
      id: step.id,
      model: step.models.length === 1 ? step.models[0]! : step.models,
      free,
      skipped,
      requests: items.length,
      cached,
      countKnown,
      tokens: {
        prompt: { expected: promptExpected, max: promptMax },
        completion: { expected: completionExpected * sent, max: step.maxTokens * sent * attemptsBilled }
      },
      costExpected,
      costMax,
      maxRequestCost,
      maxPromptTokens,
      contextLength: models.reduce<number | undefined>(
        (min, m) =>
          m.contextLength === undefined
            ? min
            : min === undefined
              ? m.contextLength
              : Math.min(min, m.contextLength),
        undefined
      ),
      expectedPromptPeak
    })
  }

  // in the pipeline's own order for reports
  steps.sort(
    (a, b) => pipeline.steps.findIndex((s) => s.id === a.id) - pipeline.steps.findIndex((s) => s.id === b.id)
  )
  const requests = steps.reduce((n, s) => n + s.requests, 0)
  const cached = steps.reduce((n, s) => n + s.cached, 0)
  const freeRequests = steps.filter((s) => s.free).reduce((n, s) => n + s.requests - s.cached, 0)
  const costExpected = Money.sum(steps.map((s) => s.costExpected))
  const costMax = Money.sum(steps.map((s) => s.costMax))
  const policy = input.policy
  const freePerDay = Policy.freeRequestsPerDay(policy, pipeline.creditsPurchasedUsd)
  const freeLeftToday = Math.max(0, freePerDay - input.freeUsedToday)

  // least wall time: each bucket sends its requests evenly spaced
  const perBucket = new Map<string, { n: number; interval: number }>()
  for (const s of steps) {
    const firstModel = Array.isArray(s.model) ? s.model[0] : s.model
    for (const b of Limits.bucketsFor(policy, pipeline.balanceUsd, {
      fingerprint: input.fingerprint,
      modelId: firstModel as string,
      free: s.free
    })) {
      const cur = perBucket.get(b.key) ?? { n: 0, interval: b.intervalMs }
      perBucket.set(b.key, { n: cur.n + s.requests - s.cached, interval: b.intervalMs })
    }
  }
  let minDurationMs = 0
  for (const { n, interval } of perBucket.values())
    minDurationMs = Math.max(minDurationMs, Math.max(0, n - 1) * interval)

  const maxCost =
    input.maxCostOverride !== undefined
      ? Math.min(input.maxCostOverride, pipeline.budget.maxCostUsd ?? Number.POSITIVE_INFINITY)
      : pipeline.budget.maxCostUsd
  const budget = {
    maxCostUsd: maxCost,
    maxRequests: pipeline.budget.maxRequests,
    maxFreeRequests: pipeline.budget.maxFreeRequests,
    gate: pipeline.budget.gate
  }
  const violations: Violation[] = []
  const sentMax = requests - cached
  if (
    !complete &&
    (maxCost !== undefined ||
      budget.maxRequests !== undefined ||
      budget.maxFreeRequests !== undefined ||
      steps.some((s) => s.free))
  ) {
    const unknown = steps.filter((s) => !s.countKnown).map((s) => `"${s.id}"`)
    violations.push({
      kind: "incomplete",
      message: `the number of requests of step ${unknown.join(", ")} depends on an upstream output; set max_items on it so the plan can bound the run`
    })
  }
  if (maxCost !== undefined) {
    const gated = budget.gate === "expected" ? costExpected : costMax
    const limit = Money.fromNumber(maxCost)
    if (Money.gt(gated, limit))
      violations.push({
        kind: "max_cost_usd",
        message: `${budget.gate === "expected" ? "expected" : "maximum"} cost ${Money.format(Money.round(gated, 6))} exceeds budget.max_cost_usd ${Money.format(limit)}`
      })
  }
  if (budget.maxRequests !== undefined && sentMax > budget.maxRequests)
    violations.push({
      kind: "max_requests",
      message: `${sentMax} requests exceed budget.max_requests ${budget.maxRequests}`
    })
  if (budget.maxFreeRequests !== undefined && freeRequests > budget.maxFreeRequests)
    violations.push({
      kind: "max_free_requests",
      message: `${freeRequests} free-model requests exceed budget.max_free_requests ${budget.maxFreeRequests}`
    })
  if (freeRequests > freeLeftToday) {
    const reset = Policy.nextUtcMidnight(input.now).toISOString().replace(".000Z", "Z")
    violations.push({
      kind: "free_quota",
      message: `${freeRequests} free-model requests exceed today's free quota left (${freeLeftToday} of ${freePerDay}; resets at ${reset})`
    })
  }
  for (const s of steps) {
    if (
      s.contextLength !== undefined &&
      s.expectedPromptPeak + (s.requests > 0 ? pipeline.steps.find((p) => p.id === s.id)!.maxTokens : 0) >
        s.contextLength
    )
      violations.push({
        kind: "context_window",
        message: `step "${s.id}": a prompt of ~${s.expectedPromptPeak} tokens plus max_tokens exceeds the model's context of ${s.contextLength}`
      })
  }
  return {
    complete,
    steps,
    requests: { expected: sentMax, max: sentMax, cached },
    freeRequests,
    costExpected,
    costMax,
    minDurationS: Math.ceil(minDurationMs) / 1000,
    quota: { freePerDay, freeUsedToday: input.freeUsedToday, freeLeftToday },
    budget,
    violations
  }
}

/** The most one rendered request can cost: its byte bound at the dearest model, at any hour. */
export const worstRequestCost = (
  models: ReadonlyArray<Catalog.Model>,
  messages: ReadonlyArray<Message>,
  maxTokensPerRequest: number
): Money.Usd => {
  const promptMax = messages.reduce((n, m) => n + PER_MESSAGE_MAX + maxTokens(m.content), 0)
  let worst = Money.zero
  for (const m of models)
    worst = Money.max(
      worst,
      Cost.worstCost(m, { promptTokens: promptMax, completionTokens: maxTokensPerRequest }).total
    )
  return worst
}
