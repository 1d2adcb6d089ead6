/**
 * Exact cost of one request from token counts and a model's catalog prices.
 *
 * Counts follow OpenRouter's `usage`: `cachedTokens` and `cacheWriteTokens` are parts of
 * `promptTokens`; `reasoningTokens` is part of `completionTokens` (billed as completion, or at
 * `internal_reasoning` where the catalog lists that price).
 */
import type { Model, Override, Rate, RateKey, Rates } from "./Catalog.ts"
import * as Money from "./Money.ts"

export interface Usage {
  readonly promptTokens: number
  readonly completionTokens: number
  /** Of `completionTokens`, how many were reasoning. */
  readonly reasoningTokens?: number | undefined
  /** Of `promptTokens`, how many were read from the provider's prompt cache. */
  readonly cachedTokens?: number | undefined
  /** Of `promptTokens`, how many were written to the provider's prompt cache. */
  readonly cacheWriteTokens?: number | undefined
  readonly images?: number | undefined
  readonly webSearches?: number | undefined
  /** Requests billed (default 1). */
  readonly requests?: number | undefined
}

/** Each component of a request's cost, USD. */
export interface Breakdown {
  readonly prompt: Money.Usd
  readonly cache_read: Money.Usd
  readonly cache_write: Money.Usd
  readonly completion: Money.Usd
  readonly reasoning: Money.Usd
  readonly request: Money.Usd
  readonly image: Money.Usd
  readonly web_search: Money.Usd
}
export type Component = keyof Breakdown
export const COMPONENTS: ReadonlyArray<Component> = [
  "prompt",
  "cache_read",
  "cache_write",
  "completion",
  "reasoning",
  "request",
  "image",
  "web_search"
]

export interface Cost {
  readonly total: Money.Usd
  readonly breakdown: Breakdown
  /** Which override applied, if any (a prompt-token threshold or a time-of-day window). */
  readonly override: Override | undefined
}

/** The catalog says `"-1"` for a price this request needs: the cost cannot be known in advance. */
export class UnknownPriceError extends Error {
  override readonly name = "UnknownPriceError"
  readonly model: string
  readonly rate: RateKey
  constructor(model: string, rate: RateKey) {
    super(
      `the ${rate} price of "${model}" is unknown ("-1" in the catalog: a router, billed at whichever model it routes to); name a concrete model`
    )
    this.model = model
    this.rate = rate
  }
}

export class InvalidUsageError extends Error {
  override readonly name = "InvalidUsageError"
}

/** UTC time of day as HHMM, the unit of `utc_start`/`utc_end` overrides. */
export const utcHhmm = (at: Date): number => at.getUTCHours() * 100 + at.getUTCMinutes()

const inWindow = (o: Override, hhmm: number): boolean => {
  if (o.utcStart === undefined || o.utcEnd === undefined) return true
  return o.utcStart <= o.utcEnd
    ? hhmm >= o.utcStart && hhmm < o.utcEnd
    : hhmm >= o.utcStart || hhmm < o.utcEnd
}

/**
 * The override that applies to a request: the highest `min_prompt_tokens` threshold reached
 * and, for time-of-day windows, the window containing `at`.
 */
export const applicableOverride = (model: Model, promptTokens: number, at: Date): Override | undefined => {
  const hhmm = utcHhmm(at)
  let best: Override | undefined
  for (const o of model.overrides) {
    if (o.minPromptTokens !== undefined && promptTokens < o.minPromptTokens) continue
    if (!inWindow(o, hhmm)) continue
    if (best === undefined || (o.minPromptTokens ?? 0) >= (best.minPromptTokens ?? 0)) best = o
  }
  return best
}

/** Rates in force for a request of `promptTokens` at time `at`. */
export const ratesFor = (
  model: Model,
  promptTokens: number,
  at: Date
): { rates: Rates; override: Override | undefined } => {
  const override = applicableOverride(model, promptTokens, at)
  return { rates: override === undefined ? model.rates : { ...model.rates, ...override.rates }, override }
}

/**
 * The highest rates a request of `promptTokens` can meet at any time of day: what a worst-case
 * bound must use when the hour it runs is not known.
 */
export const worstRates = (model: Model, promptTokens: number): Rates => {
  const candidates: Rates[] = [model.rates]
  for (const o of model.overrides) {
    if (o.minPromptTokens !== undefined && promptTokens < o.minPromptTokens) continue
    candidates.push({ ...model.rates, ...o.rates })
  }
  // A time-window override may be the only one matching; with thresholds, the base still applies below them.
  const out: Record<string, Rate | undefined> = {}
  for (const key of Object.keys(model.rates) as RateKey[]) {
    let worst: Rate | undefined = candidates[0]![key]
    for (const c of candidates) {
      const v = c[key]
      if (v === null || worst === null) worst = null
      else if (v !== undefined && (worst === undefined || Money.gt(v, worst))) worst = v
    }
    out[key] = worst
  }
  return out as unknown as Rates
}

const checkCount = (name: string, n: number | undefined): number => {
  const v = n ?? 0
  if (!Number.isSafeInteger(v) || v < 0)
    throw new InvalidUsageError(`${name} must be a whole number >= 0, got ${n}`)
  return v
}

const need = (model: Model, rates: Rates, key: RateKey, count: number): Money.Usd => {
  if (count === 0) return Money.zero
  const r = rates[key]
  if (r === null) throw new UnknownPriceError(model.id, key)
  return Money.times(r ?? Money.zero, count)
}

/** A rate that falls back to another when the catalog does not list it (cache reads fall back to prompt). */
const rateOr = (rates: Rates, key: RateKey, fallback: RateKey): RateKey =>
  rates[key] === undefined ? fallback : key

/** Cost of a request under the given rates. Throws `UnknownPriceError` / `InvalidUsageError`. */
export const costWithRates = (model: Model, rates: Rates, usage: Usage, override?: Override): Cost => {
  const prompt = checkCount("prompt tokens", usage.promptTokens)
  const completion = checkCount("completion tokens", usage.completionTokens)
  const reasoning = checkCount("reasoning tokens", usage.reasoningTokens)
  const cached = checkCount("cached tokens", usage.cachedTokens)
  const writes = checkCount("cache write tokens", usage.cacheWriteTokens)
  const images = checkCount("images", usage.images)
  const searches = checkCount("web searches", usage.webSearches)
  const requests = checkCount("requests", usage.requests ?? 1)
  if (reasoning > completion)
    throw new InvalidUsageError(
      `reasoning tokens (${reasoning}) are part of completion tokens (${completion}) and cannot exceed them`
    )
  if (cached + writes > prompt)
    throw new InvalidUsageError(
      `cached tokens (${cached + writes}) are part of prompt tokens (${prompt}) and cannot exceed them`
    )
  const breakdown: Breakdown = {
    prompt: need(model, rates, "prompt", prompt - cached - writes),
    cache_read: need(model, rates, rateOr(rates, "input_cache_read", "prompt"), cached),
    cache_write: need(model, rates, rateOr(rates, "input_cache_write", "prompt"), writes),
    completion: need(model, rates, "completion", completion - reasoning),
    reasoning: need(model, rates, rateOr(rates, "internal_reasoning", "completion"), reasoning),
    request: need(model, rates, "request", requests),
    image: need(model, rates, "image", images),
    web_search: need(model, rates, "web_search", searches)
  }
  return { total: Money.sum(COMPONENTS.map((c) => breakdown[c])), breakdown, override }
}

/**
 * Exact cost of one request of `model` at time `at` (time matters only for time-of-day prices;
 * the caller reads it from its clock: this package never reads one).
 */
export const cost = (model: Model, usage: Usage, at: Date): Cost => {
  const { rates, override } = ratesFor(model, usage.promptTokens, at)
  return costWithRates(model, rates, usage, override)
}

/** The most a request can cost at any hour: the bound a budget reservation needs. */
export const worstCost = (model: Model, usage: Usage): Cost =>
  costWithRates(model, worstRates(model, usage.promptTokens), usage)
