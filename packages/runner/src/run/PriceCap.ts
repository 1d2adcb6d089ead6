/**
 * The plan's prices as a contract: OpenRouter's `provider.max_price` for one request, from the
 * prices the plan used (the dearest model of a fallback list, at its peak rates for a prompt of
 * this size, with any markup the pipeline allows already in the catalog), so no endpoint the
 * router picks by effective cost can bill above the plan. USD per million tokens. Pure.
 */
import type * as Catalog from "@tollgate/pricing/Catalog"
import * as Cost from "@tollgate/pricing/Cost"
import * as Money from "@tollgate/pricing/Money"
import * as BigDecimal from "effect/BigDecimal"

export interface MaxPrice {
  readonly prompt: number
  readonly completion: number
}

const perMillion = (r: Catalog.Rate | undefined): Money.Usd =>
  r === null || r === undefined ? Money.zero : Money.times(r, 1_000_000)

/** A price as a JSON number, rounded up (9 decimals): never below the exact rate the plan used. */
const up = (usd: Money.Usd): number => Money.toNumber(BigDecimal.round(usd, { scale: 9, mode: "ceil" }))

/** The cap for a request to `models` whose prompt is at most `promptTokens`; none for free models. */
export const maxPriceOf = (
  models: ReadonlyArray<Catalog.Model>,
  promptTokens: number
): MaxPrice | undefined => {
  const paid = models.filter((m) => !m.free)
  if (paid.length === 0) return undefined
  let prompt = Money.zero
  let completion = Money.zero
  for (const m of paid) {
    const rates = Cost.worstRates(m, promptTokens)
    prompt = Money.max(prompt, perMillion(rates.prompt))
    completion = Money.max(completion, perMillion(rates.completion))
  }
  return { prompt: up(prompt), completion: up(completion) }
}

/**
 * `maxPriceOf` for one list of models, remembered by the price tiers a prompt size reaches (the
 * cap changes only where a model's rates do): a run of 100,000 requests computes it a few times,
 * not 100,000 times in exact decimals.
 */
export const maxPriceMemo = (
  models: ReadonlyArray<Catalog.Model>
): ((promptTokens: number) => MaxPrice | undefined) => {
  const thresholds = [
    ...new Set(
      models.flatMap((m) =>
        m.overrides.flatMap((o) => (o.minPromptTokens !== undefined ? [o.minPromptTokens] : []))
      )
    )
  ].sort((a, b) => a - b)
  const byTier = new Map<number, MaxPrice | undefined>()
  return (promptTokens) => {
    // the tier: how many thresholds the prompt reaches (each reached one may raise a rate)
    let tier = 0
    while (tier < thresholds.length && promptTokens >= thresholds[tier]!) tier++
    if (!byTier.has(tier)) byTier.set(tier, maxPriceOf(models, promptTokens))
    return byTier.get(tier)
  }
}

/** The `provider` object an OpenRouter request carries: the pipeline's preferences and the price cap. */
export const providerField = (
  routing: Readonly<Record<string, unknown>>,
  maxPrice: MaxPrice | undefined
): Record<string, unknown> | undefined => {
  const field = { ...routing, ...(maxPrice !== undefined ? { max_price: maxPrice } : {}) }
  return Object.keys(field).length > 0 ? field : undefined
}
