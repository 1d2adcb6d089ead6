/**
 * Exact cost sums over many requests without one decimal computation per request: cost is linear
 * in tokens within a price tier, so requests are grouped by tier (and, for the bound, by which
 * fallback model is dearest for them) and each group is priced once. Pure.
 */
import type * as Catalog from "@tollgate/pricing/Catalog"
import * as Cost from "@tollgate/pricing/Cost"
import * as Money from "@tollgate/pricing/Money"
import type { Message } from "../dsl/Pipeline.ts"
import { maxTokens, PER_MESSAGE_MAX } from "./TokenEstimate.ts"

/** One price tier of a model (from `min_prompt_tokens`), with float rates to compare tiers quickly. */
interface Tier {
  readonly threshold: number
  readonly rates: Catalog.Rates
  /** USD per prompt token, as a float (comparison only). */
  readonly prompt: number
  /** USD of `max_tokens` completion plus the per-request price, as a float (comparison only). */
  readonly fixed: number
}

const float = (r: Catalog.Rate | undefined) => (r === null || r === undefined ? 0 : Money.toNumber(r))

/** A model's tiers by prompt-token threshold, each at its worst (peak time-of-day) rates. */
const tiersOf = (m: Catalog.Model, maxTokensPerRequest: number): Tier[] =>
  [0, ...new Set(m.overrides.map((o) => o.minPromptTokens ?? 0))]
    .sort((a, b) => a - b)
    .map((threshold) => {
      const rates = Cost.worstRates(m, threshold)
      return {
        threshold,
        rates,
        prompt: float(rates.prompt),
        fixed: float(rates.completion) * maxTokensPerRequest + float(rates.request)
      }
    })

interface Group {
  readonly model: Catalog.Model
  readonly rates: Catalog.Rates
  n: number
  prompt: number
  /** Prompt tokens at their likely high (upstream outputs at their p90 length). */
  promptP90: number
}

/** Requests of one step, priced in groups: expected at the primary model, the bound at the dearest. */
export class StepPricing {
  private readonly expected = new Map<Catalog.Override | undefined, Group>()
  private readonly worst = new Map<string, Group>()
  private readonly tiers: ReadonlyArray<ReadonlyArray<Tier>>
  private readonly models: ReadonlyArray<Catalog.Model>
  private readonly maxTokensPerRequest: number
  private readonly completion: { readonly expected: number; readonly p90: number }
  private readonly now: Date
  private peakPrompt = -1

  constructor(
    models: ReadonlyArray<Catalog.Model>,
    maxTokensPerRequest: number,
    completion: { readonly expected: number; readonly p90: number },
    now: Date
  ) {
    this.models = models
    this.maxTokensPerRequest = maxTokensPerRequest
    this.completion = completion
    this.now = now
    this.tiers = models.map((m) => tiersOf(m, maxTokensPerRequest))
  }

  /** One request, with its expected, likely-high and bound prompt tokens. */
  add(promptExpected: number, promptMax: number, promptP90 = promptExpected): void {
    const primary = this.models[0]!
    const { rates, override } = Cost.ratesFor(primary, promptExpected, this.now)
    addTo(this.expected, override, { model: primary, rates }, promptExpected, promptP90)
    this.addBound(promptMax)
  }

  /** One more request the bound counts (an attempt that may be billed), expected nowhere. */
  addBound(promptMax: number): void {
    const d = this.dearest(promptMax)
    addTo(this.worst, d.key, d, promptMax)
    this.peakPrompt = Math.max(this.peakPrompt, promptMax)
  }

  /** With one model of one tier (the common case), it is the dearest whatever the request. */
  private only: { value: number; key: string; model: Catalog.Model; rates: Catalog.Rates } | undefined

  /** The model and tier that make a request of `promptMax` tokens dearest. */
  private dearest(promptMax: number) {
    if (this.tiers.length === 1 && this.tiers[0]!.length === 1) {
      const t = this.tiers[0]![0]!
      this.only ??= { value: 0, key: `0:${t.threshold}`, model: this.models[0]!, rates: t.rates }
      return this.only
    }
    let best = { value: -1, key: "", model: this.models[0]!, rates: this.models[0]!.rates }
    this.tiers.forEach((ts, mi) => {
      const tier = ts.reduce((t, x) => (promptMax >= x.threshold ? x : t), ts[0]!)
      const value = tier.prompt * promptMax + tier.fixed
      if (value > best.value)
        best = { value, key: `${mi}:${tier.threshold}`, model: this.models[mi]!, rates: tier.rates }
    })
    return best
  }

  totals(): {
    costExpected: Money.Usd
    costP90: Money.Usd
    worstPerAttempt: Money.Usd
    maxRequestCost: Money.Usd
  } {
    const priced = (groups: Iterable<Group>, completionPerRequest: number, likelyHigh = false) =>
      Money.sum(
        [...groups].map(
          (g) =>
            Cost.costWithRates(g.model, g.rates, {
              promptTokens: likelyHigh ? g.promptP90 : g.prompt,
              completionTokens: completionPerRequest * g.n,
              requests: g.n
            }).total
        )
      )
    return {
      costExpected: priced(this.expected.values(), this.completion.expected),
      costP90: priced(this.expected.values(), this.completion.p90, true),
      worstPerAttempt: priced(this.worst.values(), this.maxTokensPerRequest),
      maxRequestCost:
        this.peakPrompt < 0
          ? Money.zero
          : worstCostOfPrompt(this.models, this.peakPrompt, this.maxTokensPerRequest)
    }
  }
}

const addTo = <K>(
  groups: Map<K, Group>,
  key: K,
  g: { readonly model: Catalog.Model; readonly rates: Catalog.Rates },
  prompt: number,
  promptP90 = prompt
) => {
  const cur = groups.get(key) ?? { model: g.model, rates: g.rates, n: 0, prompt: 0, promptP90: 0 }
  cur.n++
  cur.prompt += prompt
  cur.promptP90 += promptP90
  groups.set(key, cur)
}

/** The most a request of `promptTokens` can cost: at the dearest model, at any hour. */
const worstCostOfPrompt = (
  models: ReadonlyArray<Catalog.Model>,
  promptTokens: number,
  maxTokensPerRequest: number
): Money.Usd =>
  models.reduce(
    (worst, m) =>
      Money.max(worst, Cost.worstCost(m, { promptTokens, completionTokens: maxTokensPerRequest }).total),
    Money.zero
  )

const promptBound = (messages: ReadonlyArray<Message>): number =>
  messages.reduce((n, m) => n + PER_MESSAGE_MAX + maxTokens(m.content), 0)

/** Bounds of a step's requests remembered at once, at most (a step's prompts mostly share a few). */
const REMEMBERED_BOUNDS = 4_096

/**
 * The most one rendered request of a step can cost: its byte bound at the dearest of the step's
 * models, at any hour. Each bound's cost is worked out once: a step's requests mostly have
 * prompts of a few sizes, and the exact decimal math is the dear part.
 */
export const worstRequestCostMemo = (
  models: ReadonlyArray<Catalog.Model>
): ((messages: ReadonlyArray<Message>, maxTokensPerRequest: number) => Money.Usd) => {
  const known = new Map<number, Money.Usd>()
  return (messages, maxTokensPerRequest) => {
    const prompt = promptBound(messages)
    // one number keys the pair exactly while both are whole and small (any real request's are)
    const exact =
      Number.isInteger(maxTokensPerRequest) &&
      maxTokensPerRequest >= 0 &&
      maxTokensPerRequest < 2 ** 26 &&
      prompt < 2 ** 26
    if (!exact) return worstCostOfPrompt(models, prompt, maxTokensPerRequest)
    const key = prompt * 2 ** 26 + maxTokensPerRequest
    let cost = known.get(key)
    if (cost === undefined) {
      cost = worstCostOfPrompt(models, prompt, maxTokensPerRequest)
      if (known.size >= REMEMBERED_BOUNDS) known.clear()
      known.set(key, cost)
    }
    return cost
  }
}
