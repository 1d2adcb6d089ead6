/**
 * One step's projection: how many requests (items of `for_each`), how many the cache already
 * holds, their tokens (expected and bound) and cost. Pure over the step and its scope.
 */
import type * as Catalog from "@tollgate/pricing/Catalog"
import * as Money from "@tollgate/pricing/Money"
import type { Template } from "liquidjs"
import { stepsReadBy } from "../dsl/Graph.ts"
import type { Message, Step } from "../dsl/Pipeline.ts"
import { buildBody } from "../dsl/Request.ts"
import { evaluate, isTruthy, liquid, parse } from "../dsl/Templates.ts"
import { StepPricing } from "./Pricing.ts"
import {
  expectedTokens,
  maxTokens,
  PER_MESSAGE_EXPECTED,
  PER_MESSAGE_MAX,
  PER_REQUEST_EXPECTED
} from "./Tokens.ts"
import { hasMarker, markerFor, splitMarkers, Upstream } from "./Upstream.ts"

/** Without history, a step is expected to use this share of its `max_tokens`. */
export const DEFAULT_COMPLETION_FRACTION = 0.5

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
  readonly contextLength: number | undefined
  readonly expectedPromptPeak: number
  /** Cache keys this step counted as cached (to verify before trusting them). */
  readonly cachedKeys: ReadonlyArray<string>
}

/** What earlier steps (in dependency order) are known to produce: request count and completion. */
export interface Known {
  readonly index: number
  readonly requests: number
  readonly completion: Range
}

export interface StepContext {
  readonly inputs: Readonly<Record<string, unknown>>
  readonly catalog: Catalog.Catalog
  /** Earlier steps, by id. */
  readonly known: ReadonlyMap<string, Known>
  /** Earlier steps in dependency order (a marker's index names one). */
  readonly order: ReadonlyArray<Step>
  /** Mean completion tokens per request from earlier runs, by step id. */
  readonly history: Readonly<Record<string, number>>
  /** The cache key of a request body, and whether the cache may hold it. */
  readonly cacheKey: (body: Readonly<Record<string, unknown>>) => string
  readonly cached: ReadonlySet<string>
  readonly now: Date
  /** Expected tokens of a text (default: counted with the tokenizer). */
  readonly tokens?: ((text: string) => number) | undefined
}

/** The scope templates see at plan time: inputs as they are, upstream outputs as markers. */
const baseScope = (ctx: StepContext): Record<string, unknown> => {
  const steps: Record<string, unknown> = {}
  for (const [id, k] of ctx.known) {
    const up = new Upstream(markerFor(k.index))
    steps[id] = { output: up, outputs: Array.from({ length: k.requests }, () => up) }
  }
  return { inputs: ctx.inputs, steps }
}

/** The items `for_each` yields when inputs alone decide them; else `max_items` stand-ins, or unknown. */
const itemsOf = (
  step: Step,
  scope: Record<string, unknown>,
  ctx: StepContext
): { items: unknown[]; countKnown: boolean } => {
  if (step.forEach === undefined) return { items: [undefined], countKnown: true }
  const upstream = stepsReadBy(step.forEach, "expression")
  if (upstream.length === 0) {
    const v = evaluate(step.forEach, scope)
    if (Array.isArray(v))
      return { items: step.maxItems !== undefined ? v.slice(0, step.maxItems) : v, countKnown: true }
  }
  // each element stands for the upstream output it comes from (counted at that step's completion)
  const from = upstream.map((id) => ctx.known.get(id)).find((k) => k !== undefined)
  const element = new Upstream(from !== undefined ? markerFor(from.index) : "")
  if (step.maxItems === undefined) return { items: [], countKnown: false }
  return { items: Array.from({ length: step.maxItems }, () => element), countKnown: true }
}

interface Counted {
  readonly expected: number
  readonly max: number
  /** The messages as they would be sent, when no upstream output is in them. */
  readonly rendered: Message[] | undefined
}

/** Tokens of one message text: rendered inputs counted as they are, upstream markers as their completion. */
const countText = (text: string, ctx: StepContext): { e: number; m: number; upstream: boolean } => {
  const tokens = ctx.tokens ?? expectedTokens
  if (!hasMarker(text)) return { e: tokens(text), m: maxTokens(text), upstream: false }
  const { upstream, rest } = splitMarkers(text)
  let e = tokens(rest)
  let m = maxTokens(rest)
  for (const i of upstream) {
    const k = ctx.known.get(ctx.order[i]?.id ?? "")
    // an upstream output counts as its expected completion, and as its max_tokens in the bound
    e += k?.completion.expected ?? 0
    m += k?.completion.max ?? 0
  }
  return { e, m, upstream: true }
}

/** One request's prompt tokens (with chat framing), and its messages when fully known. */
const countRequest = (
  step: Step,
  templates: ReadonlyArray<Template[] | string>,
  scope: Record<string, unknown>,
  ctx: StepContext
): Counted => {
  let expected = PER_REQUEST_EXPECTED
  let max = 0
  const rendered: Message[] = []
  let complete = true
  step.messages.forEach((m, j) => {
    const t = templates[j]!
    const text = typeof t === "string" ? t : liquid.renderSync(t, scope)
    const c = countText(text, ctx)
    expected += PER_MESSAGE_EXPECTED + c.e
    max += PER_MESSAGE_MAX + c.m
    if (c.upstream) complete = false
    else rendered.push({ role: m.role, content: text })
  })
  return { expected, max, rendered: complete ? rendered : undefined }
}

const contextLengthOf = (models: ReadonlyArray<Catalog.Model>): number | undefined => {
  const known = models.flatMap((m) => (m.contextLength === undefined ? [] : [m.contextLength]))
  return known.length === 0 ? undefined : Math.min(...known)
}

/** The step's projection, and what later steps may know of it. */
export const projectStep = (step: Step, ctx: StepContext): { projection: StepProjection; known: Known } => {
  const models = step.models.map((id) => ctx.catalog.resolveOrThrow(id).model)
  const completionExpected = Math.min(
    step.maxTokens,
    Math.round(ctx.history[step.id] ?? step.maxTokens * DEFAULT_COMPLETION_FRACTION)
  )
  const scope = baseScope(ctx)
  // a `when` that reads only inputs is decided now: a step it turns off sends nothing
  const skipped =
    step.when !== undefined &&
    stepsReadBy(step.when, "expression").length === 0 &&
    !isTruthy(evaluate(step.when, scope))
  const { items, countKnown } = skipped ? { items: [], countKnown: true } : itemsOf(step, scope, ctx)
  // a prompt that reads an upstream step renders at plan time from a stand-in: never a cache hit
  const readsUpstream = step.messages.some((m) => stepsReadBy(m.content, "template").length > 0)
  // messages without template syntax are rendered once
  const templates = step.messages.map((m) => (/\{[{%]/.test(m.content) ? parse(m.content) : m.content))
  const pricing = new StepPricing(models, step.maxTokens, completionExpected, ctx.now)
  const tally = { promptExpected: 0, promptMax: 0, peakExpected: 0, cachedKeys: [] as string[] }
  for (const [index, item] of items.entries()) {
    const itemScope = step.forEach !== undefined ? { ...scope, [step.as]: item, index } : scope
    const c = countRequest(step, templates, itemScope, ctx)
    // one listing of the cache instead of a key per request: most requests of a big plan are misses
    if (step.cache && !readsUpstream && c.rendered !== undefined && ctx.cached.size > 0) {
      const key = ctx.cacheKey(buildBody(step, c.rendered))
      if (ctx.cached.has(key)) {
        tally.cachedKeys.push(key)
        continue
      }
    }
    tally.promptExpected += c.expected
    tally.promptMax += c.max
    tally.peakExpected = Math.max(tally.peakExpected, c.expected)
    pricing.add(c.expected, c.max)
  }
  return {
    projection: summarize(
      step,
      models,
      items.length,
      countKnown,
      skipped,
      completionExpected,
      pricing,
      tally
    ),
    known: {
      index: ctx.order.indexOf(step),
      requests: items.length,
      completion: { expected: completionExpected, max: step.maxTokens }
    }
  }
}

const summarize = (
  step: Step,
  models: ReadonlyArray<Catalog.Model>,
  requests: number,
  countKnown: boolean,
  skipped: boolean,
  completionExpected: number,
  pricing: StepPricing,
  tally: {
    promptExpected: number
    promptMax: number
    peakExpected: number
    cachedKeys: string[]
  }
): StepProjection => {
  // a JSON reply that fails its schema is billed and retried: the bound counts every attempt
  const attemptsBilled = step.format === "json" ? step.maxAttempts : 1
  const { costExpected, worstPerAttempt, maxRequestCost } = pricing.totals()
  const cached = tally.cachedKeys.length
  const sent = requests - cached
  return {
    id: step.id,
    model: step.models.length === 1 ? step.models[0]! : step.models,
    free: models.every((m) => m.free),
    skipped,
    requests,
    cached,
    countKnown,
    tokens: {
      prompt: { expected: tally.promptExpected, max: tally.promptMax },
      completion: { expected: completionExpected * sent, max: step.maxTokens * sent * attemptsBilled }
    },
    costExpected,
    costMax: Money.times(worstPerAttempt, attemptsBilled),
    maxRequestCost,
    contextLength: contextLengthOf(models),
    expectedPromptPeak: tally.peakExpected,
    cachedKeys: tally.cachedKeys
  }
}
