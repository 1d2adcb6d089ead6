/**
 * One step's projection: how many requests (items of `for_each`), how many the cache already
 * holds, their tokens (expected and bound) and cost. Pure over the step and its scope.
 */
import type * as Catalog from "@tollgate/pricing/Catalog"
import * as Money from "@tollgate/pricing/Money"
import type { Template } from "liquidjs"
import { stepsReadBy } from "../dsl/Graph.ts"
import { halves, packBody, packMaxTokens, packMessages } from "../dsl/PackRequest.ts"
import type { Message, Step } from "../dsl/Pipeline.ts"
import { buildBody } from "../dsl/Request.ts"
import { evaluate, isTruthy, parse, renderFast } from "../dsl/Templates.ts"
import * as Calibration from "./Calibration.ts"
import * as StepCounts from "./StepCounts.ts"
import { StepPricing } from "./StepPricing.ts"
import {
  expectedTokens,
  maxTokens,
  PER_MESSAGE_EXPECTED,
  PER_MESSAGE_MAX,
  PER_REQUEST_EXPECTED
} from "./TokenEstimate.ts"
import type { Series } from "./TokenMemo.ts"
import { hasMarker, markerFor, splitMarkers, Upstream } from "./Upstream.ts"

export interface Range {
  readonly expected: number
  readonly max: number
}

/** Per item: expected and likely-high completion tokens, and the model's billed-per-expected prompt tokens. */
interface PerItem {
  readonly expected: number
  readonly p90: number
  readonly promptRatio: number
}

export interface StepProjection {
  readonly id: string
  readonly model: string | ReadonlyArray<string>
  readonly free: boolean
  /** `when` is false from the inputs alone: the step will not run. */
  readonly skipped: boolean
  /** Requests this step makes (elements of for_each, or packs of them), cached ones included. */
  readonly requests: number
  /** A packed step (`pack`): its items, and how many go in one request. */
  readonly items?: number
  readonly pack?: number
  readonly cached: number
  /** False when the count depends on an upstream output and no max_items bounds it. */
  readonly countKnown: boolean
  readonly tokens: { readonly prompt: Range; readonly completion: Range & { readonly p90: number } }
  readonly costExpected: Money.Usd
  /** A likely high: completions at the step's p90 length. */
  readonly costP90: Money.Usd
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
  /** Per output, in the tokens its model bills: expected, likely high, and at most. */
  readonly completion: Range & { readonly p90: number }
}

export interface StepContext {
  readonly inputs: Readonly<Record<string, unknown>>
  readonly catalog: Catalog.Catalog
  /** Earlier steps, by id. */
  readonly known: ReadonlyMap<string, Known>
  /** Earlier steps in dependency order (a marker's index names one). */
  readonly order: ReadonlyArray<Step>
  /** What earlier runs of this pipeline taught: the tokenizer gap per model, reply lengths per step. */
  readonly calibration: { readonly index: Calibration.Index; readonly pipeline: string }
  /** The cache key of a request body, and whether the cache may hold it. */
  readonly cacheKey: (body: Readonly<Record<string, unknown>>) => string
  readonly cached: ReadonlySet<string>
  readonly now: Date
  /** Expected tokens of a text (default: counted with the tokenizer). */
  readonly tokens?: ((text: string) => number) | undefined
  /** Fan-out steps' counted requests, remembered under the inputs' digest (the plan passes its memo's). */
  readonly stepCounts?: { readonly series: Series; readonly inputsDigest: string } | undefined
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
/** The most items one `for_each` may plan (a step of more is split across pipelines or shards). */
export const MAX_FOR_EACH_ITEMS = 1_000_000

const itemsOf = (
  step: Step,
  scope: Record<string, unknown>,
  ctx: StepContext
): { items: unknown[]; countKnown: boolean } => {
  if (step.forEach === undefined) return { items: [undefined], countKnown: true }
  const upstream = stepsReadBy(step.forEach, "expression")
  if (upstream.length === 0) {
    const v = evaluateAt(step, "for_each", step.forEach, scope)
    if (Array.isArray(v) && v.length > MAX_FOR_EACH_ITEMS && (step.maxItems ?? v.length) > MAX_FOR_EACH_ITEMS)
      throw new RenderFailed(
        step,
        [...(step.messagePaths[0]?.slice(0, 2) ?? []), "for_each"],
        `for_each yields ${v.length.toLocaleString("en-US")} items, more than the limit of ${MAX_FOR_EACH_ITEMS.toLocaleString("en-US")} a step; split the data, or set max_items`
      )
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
  /** Tokens we count (the texts and their framing: the model's tokenizer may bill more or fewer). */
  readonly expected: number
  /** Upstream outputs, as their expected completion, and at their likely-high (p90) length. */
  readonly upstream: number
  readonly upstreamP90: number
  readonly max: number
  /** The messages as they would be sent, when no upstream output is in them. */
  readonly rendered: ReadonlyArray<Message> | undefined
}

/** Tokens of one message text: rendered inputs counted as they are, upstream markers as their completion. */
const countText = (
  text: string,
  ctx: StepContext,
  boundOnly: boolean,
  mayHaveMarkers: boolean
): { e: number; u: number; p: number; m: number; marked: boolean } => {
  const tokens = boundOnly ? () => 0 : (ctx.tokens ?? expectedTokens)
  if (!mayHaveMarkers || !hasMarker(text))
    return { e: tokens(text), u: 0, p: 0, m: maxTokens(text), marked: false }
  const { upstream, rest } = splitMarkers(text)
  const e = tokens(rest)
  let u = 0
  let p = 0
  let m = maxTokens(rest)
  for (const i of upstream) {
    const k = ctx.known.get(ctx.order[i]?.id ?? "")
    // an upstream output counts as its expected completion (its p90 in the likely high), and as its max_tokens in the bound
    u += k?.completion.expected ?? 0
    p += k?.completion.p90 ?? 0
    m += k?.completion.max ?? 0
  }
  return { e, u, p, m, marked: true }
}

/**
 * One request's prompt tokens (with chat framing), and its messages when fully known.
 * `mayHaveMarkers`: the step's prompts read an upstream step (else no text is searched for one).
 */
const countMessages = (
  messages: ReadonlyArray<Message>,
  ctx: StepContext,
  mayHaveMarkers: boolean,
  boundOnly = false
): Counted => {
  let expected = PER_REQUEST_EXPECTED
  let upstream = 0
  let upstreamP90 = 0
  let max = 0
  let complete = true
  for (const m of messages) {
    const c = countText(m.content, ctx, boundOnly, mayHaveMarkers)
    expected += PER_MESSAGE_EXPECTED + c.e
    upstream += c.u
    upstreamP90 += c.p
    max += PER_MESSAGE_MAX + c.m
    complete &&= !c.marked
  }
  return { expected, upstream, upstreamP90, max, rendered: complete ? messages : undefined }
}

/** An item's messages as rendered at plan time (upstream outputs as markers). */
const renderItem = (
  step: Step,
  templates: ReadonlyArray<Template[] | string>,
  scope: Record<string, unknown>
): Message[] =>
  step.messages.map((m, j) => {
    const t = templates[j]!
    if (typeof t === "string") return { role: m.role, content: t }
    try {
      return { role: m.role, content: renderFast(m.content, scope) }
    } catch (e) {
      throw new RenderFailed(step, step.messagePaths[j] ?? [], (e as Error).message ?? String(e))
    }
  })

/** Evaluates a step's expression (`for_each`, `when`); a failure names its place in the YAML. */
const evaluateAt = (step: Step, key: string, expr: string, scope: Record<string, unknown>): unknown => {
  try {
    return evaluate(expr, scope)
  } catch (e) {
    throw new RenderFailed(
      step,
      [...(step.messagePaths[0]?.slice(0, 2) ?? []), key],
      (e as Error).message ?? String(e)
    )
  }
}

/** A step's template that cannot render from the inputs: where it is in the YAML, and why. */
export class RenderFailed extends Error {
  readonly path: ReadonlyArray<string | number>
  constructor(step: Step, path: ReadonlyArray<string | number>, why: string) {
    super(`step "${step.id}": ${why.split("\n")[0]}`)
    this.path = path
  }
}

const contextLengthOf = (models: ReadonlyArray<Catalog.Model>): number | undefined => {
  const known = models.flatMap((m) => (m.contextLength === undefined ? [] : [m.contextLength]))
  return known.length === 0 ? undefined : Math.min(...known)
}

/**
 * Renders each item's messages (a pack's together) and counts each request into `requests`.
 * Returns each request's counts packed (`StepCounts.ts`) when `remember` is asked and every one fits.
 */
const renderAll = (o: {
  readonly step: Step
  readonly templates: ReadonlyArray<Template[] | string>
  readonly scope: Record<string, unknown>
  readonly items: ReadonlyArray<unknown>
  readonly requests: StepRequests
  readonly mayBeCached: boolean
  readonly remember: string | undefined
}): Int32Array | undefined => {
  const { step, templates, scope, items } = o
  const size = step.forEach !== undefined && step.pack > 1 ? step.pack : 1
  let counted = o.remember === undefined ? undefined : new Int32Array(items.length)
  let group: Message[][] = []
  for (const [index, item] of items.entries()) {
    const itemScope = step.forEach !== undefined ? { ...scope, [step.as]: item, index } : scope
    group.push(renderItem(step, templates, itemScope))
    if (group.length < size && index < items.length - 1) continue
    const c = o.requests.add(group, o.mayBeCached)
    if (counted !== undefined) {
      const n = StepCounts.pack(c.expected, c.max)
      if (n === undefined) counted = undefined
      else counted[index] = n
    }
    group = []
  }
  return counted
}

/** The step's projection, and what later steps may know of it. */
export const projectStep = (step: Step, ctx: StepContext): { projection: StepProjection; known: Known } => {
  const models = step.models.map((id) => ctx.catalog.resolveOrThrow(id).model)
  const { index, pipeline } = ctx.calibration
  const key = Calibration.stepKey(pipeline, step.id, models[0]!.id)
  const completion = Calibration.completionOf(index, key, step.maxTokens)
  const perItem = { ...completion, promptRatio: Calibration.promptRatio(index, models[0]!.id, key) }
  const scope = baseScope(ctx)
  // a `when` that reads only inputs is decided now: a step it turns off sends nothing
  const skipped =
    step.when !== undefined &&
    stepsReadBy(step.when, "expression").length === 0 &&
    !isTruthy(evaluateAt(step, "when", step.when, scope))
  const { items, countKnown } = skipped ? { items: [], countKnown: true } : itemsOf(step, scope, ctx)
  // a prompt that reads an upstream step renders at plan time from a stand-in: never a cache hit
  const readsUpstream = step.messages.some((m) => stepsReadBy(m.content, "template").length > 0)
  // messages without template syntax are rendered once
  const templates = step.messages.map((m) => (/\{[{%]/.test(m.content) ? parse(m.content) : m.content))
  const packed = step.forEach !== undefined && step.pack > 1
  // an upstream output reaches a text through a prompt or the items of a `for_each`: any that
  // names `steps` at all (`{% for p in steps %}` reads them without naming one) is searched
  const namesSteps = (text: string) => /\bsteps\b/.test(text)
  const mayHaveMarkers =
    step.messages.some((m) => namesSteps(m.content)) ||
    (step.forEach !== undefined && namesSteps(step.forEach))
  const requests = new StepRequests(step, models, perItem, ctx, mayHaveMarkers)
  const mayBeCached = step.cache && !readsUpstream && ctx.cached.size > 0
  // remembered counts stand for rendering only where no request is looked up in the cache
  const memo = ctx.stepCounts
  const countsKey =
    memo === undefined || mayBeCached ? undefined : StepCounts.keyOf(step, memo.inputsDigest, mayHaveMarkers)
  const remembered = countsKey === undefined ? undefined : memo?.series.get(countsKey, items.length)
  if (remembered !== undefined) requests.addRemembered(remembered)
  else {
    const counted = renderAll({ step, templates, scope, items, requests, mayBeCached, remember: countsKey })
    if (counted !== undefined && countsKey !== undefined) memo?.series.put(countsKey, counted)
  }
  return {
    projection: requests.summarize(items.length, countKnown, skipped),
    known: {
      index: ctx.order.indexOf(step),
      requests: items.length,
      // an item's answer in a pack may take up to the whole pack's max_tokens
      completion: {
        expected: completion.expected,
        p90: completion.p90,
        max: packed ? packMaxTokens(step, step.pack) : step.maxTokens
      }
    }
  }
}

/**
 * A step's requests as the plan counts them: each item's, or each pack's. The bound of a pack
 * counts what its replies failing to split would send: every attempt, then its halves, down to
 * single items.
 */
class StepRequests {
  private readonly pricing = new Map<number, StepPricing>()
  private promptExpected = 0
  private promptMax = 0
  private peakExpected = 0
  private completionExpected = 0
  private completionP90 = 0
  private completionMax = 0
  private sent = 0
  private readonly cachedKeys: string[] = []

  private readonly step: Step
  private readonly models: ReadonlyArray<Catalog.Model>
  /** Expected completion tokens per item. */
  private readonly perItem: PerItem
  private readonly ctx: StepContext

  /** The step's prompts or items name `steps` (only then can a text hold an upstream marker). */
  private readonly mayHaveMarkers: boolean

  constructor(
    step: Step,
    models: ReadonlyArray<Catalog.Model>,
    perItem: PerItem,
    ctx: StepContext,
    mayHaveMarkers: boolean
  ) {
    this.step = step
    this.models = models
    this.perItem = perItem
    this.ctx = ctx
    this.mayHaveMarkers = mayHaveMarkers
  }

  /** Requests of `size` items are priced together: one `max_tokens` and one expected completion. */
  private pricingFor(size: number): StepPricing {
    let p = this.pricing.get(size)
    if (p === undefined) {
      const maxTokens = size === 1 ? this.step.maxTokens : packMaxTokens(this.step, size)
      const completion = { expected: this.perItem.expected * size, p90: this.perItem.p90 * size }
      p = new StepPricing(this.models, maxTokens, completion, this.ctx.now)
      this.pricing.set(size, p)
    }
    return p
  }

  /** Attempts a request's bound counts: a reply that fails its check (a schema, a pack's split) is billed and sent again. */
  private attempts(size: number): number {
    return size > 1 || this.step.format === "json" ? this.step.maxAttempts : 1
  }

  private messagesOf(group: ReadonlyArray<ReadonlyArray<Message>>): ReadonlyArray<Message> {
    // each item's upstream output is its own, though every stand-in reads alike
    return group.length === 1 ? group[0]! : packMessages(this.step, group, hasMarker)
  }

  /**
   * One request: an item's messages, or a pack of items' (`mayBeCached`: look it up in the cache).
   * Returns its counted tokens.
   */
  add(group: ReadonlyArray<ReadonlyArray<Message>>, mayBeCached: boolean): Counted {
    const size = group.length
    const c = countMessages(this.messagesOf(group), this.ctx, this.mayHaveMarkers)
    if (mayBeCached && c.rendered !== undefined) {
      const body = size === 1 ? buildBody(this.step, c.rendered) : packBody(this.step, c.rendered, size)
      const key = this.ctx.cacheKey(body)
      if (this.ctx.cached.has(key)) {
        this.cachedKeys.push(key)
        return c
      }
    }
    this.tally(c, size)
    this.bound(group, c.max, true)
    return c
  }

  /** Single-item requests as counted before (`StepCounts.ts`), none of them in the cache. */
  addRemembered(counts: Int32Array): void {
    for (const n of counts) {
      const { expected, max } = StepCounts.unpack(n)
      this.tally({ expected, upstream: 0, upstreamP90: 0, max }, 1)
      this.boundOf(1, max, true)
    }
  }

  /** A request that is sent: its expected, likely-high and bounding tokens, priced. */
  private tally(c: Omit<Counted, "rendered">, size: number): void {
    this.sent++
    // what the model's own tokenizer bills, as earlier runs measured it; never past the bound. The
    // upstream outputs in the prompt are text this model's tokenizer counts too: the ratio covers them
    const ratio = this.perItem.promptRatio
    const expected = Math.min(c.max, Math.round((c.expected + c.upstream) * ratio))
    // the likely high reads its upstream outputs at their likely-high length
    const p90 = Math.min(c.max, Math.round((c.expected + c.upstreamP90) * ratio))
    this.promptExpected += expected
    this.promptMax += c.max
    this.peakExpected = Math.max(this.peakExpected, expected)
    this.completionExpected += this.perItem.expected * size
    this.completionP90 += this.perItem.p90 * size
    this.pricingFor(size).add(expected, c.max, p90)
  }

  /** The bound of a request of `size` items and `promptMax` tokens (the first attempt is in `tally`). */
  private boundOf(size: number, promptMax: number, first: boolean): void {
    const pricing = this.pricingFor(size)
    const attempts = this.attempts(size)
    for (let i = first ? 1 : 0; i < attempts; i++) pricing.addBound(promptMax)
    this.completionMax += (size === 1 ? this.step.maxTokens : packMaxTokens(this.step, size)) * attempts
  }

  /** The bound of a request (`boundOf`), and of its halves: what its replies failing to split would send. */
  private bound(group: ReadonlyArray<ReadonlyArray<Message>>, promptMax: number, first: boolean): void {
    const size = group.length
    this.boundOf(size, promptMax, first)
    if (size === 1) return
    for (const half of halves(group))
      this.bound(half, countMessages(this.messagesOf(half), this.ctx, this.mayHaveMarkers, true).max, false)
  }

  summarize(requests: number, countKnown: boolean, skipped: boolean): StepProjection {
    const step = this.step
    const totals = [...this.pricing.values()].map((p) => p.totals())
    const packs = step.forEach !== undefined && step.pack > 1
    return {
      id: step.id,
      model: step.models.length === 1 ? step.models[0]! : step.models,
      free: this.models.every((m) => m.free),
      skipped,
      requests: this.sent + this.cachedKeys.length,
      ...(packs ? { items: requests, pack: step.pack } : {}),
      cached: this.cachedKeys.length,
      countKnown,
      tokens: {
        prompt: { expected: this.promptExpected, max: this.promptMax },
        completion: { expected: this.completionExpected, p90: this.completionP90, max: this.completionMax }
      },
      costExpected: Money.sum(totals.map((t) => t.costExpected)),
      costP90: Money.sum(totals.map((t) => t.costP90)),
      costMax: Money.sum(totals.map((t) => t.worstPerAttempt)),
      maxRequestCost: totals.reduce((m, t) => Money.max(m, t.maxRequestCost), Money.zero),
      contextLength: contextLengthOf(this.models),
      expectedPromptPeak: this.peakExpected,
      cachedKeys: this.cachedKeys
    }
  }
}
