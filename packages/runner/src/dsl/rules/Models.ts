/** Rules about models and `max_tokens`: known, priced, set, and within what the model can produce. */
import type { Diagnostic } from "../Diagnostics.ts"
import type { Path } from "../Load.ts"
import { PACK_TOKENS_PER_ITEM } from "../PackRequest.ts"
import { at, eachStep, modelRefs, type Rule, type RuleContext } from "./Rule.ts"

/** A model id the catalog knows and prices, or why not. */
export const checkModel = (ctx: RuleContext, id: string, path: Path): Diagnostic[] => {
  const resolved = ctx.catalog.resolve(id)
  if (resolved === undefined) {
    const s = ctx.catalog.suggest(id)
    const hint = s.length > 0 ? `; did you mean ${s.map((x) => `"${x}"`).join(", ")}?` : ""
    return [
      at(
        ctx,
        path,
        `unknown model "${id}"${hint} (a model of another endpoint: give its price under pricing: { "${id}": { prompt: …, completion: … } }, USD per million tokens)`,
        "unknown-model"
      )
    ]
  }
  if (resolved.model.unknownPrice)
    return [
      at(
        ctx,
        path,
        `model "${id}" has no known price, so no cost bound exists: give it under pricing: { "${id}": { prompt: …, completion: … } } (USD per million tokens), or name a model the catalog prices`,
        "unknown-price"
      )
    ]
  return []
}

/** Every model `limits.models` paces is in the catalog: a typo there would pace nothing, silently. */
export const limitedModels: Rule = (ctx) =>
  Object.keys(ctx.spec.limits?.models ?? {}).flatMap((id) => {
    if (ctx.catalog.resolve(id) !== undefined) return []
    const s = ctx.catalog.suggest(id)
    const hint = s.length > 0 ? `; did you mean ${s.map((x) => `"${x}"`).join(", ")}?` : ""
    return [
      at(
        ctx,
        ["limits", "models", id],
        `limits.models: unknown model "${id}", so its limit would pace nothing${hint}`,
        "unknown-model",
        "key"
      )
    ]
  })

/** Every model named (in defaults and steps) is in the catalog with a price; every step has one. */
export const models: Rule = (ctx) => {
  const d = ctx.spec.defaults?.model
  const fromDefaults =
    d === undefined ? [] : modelRefs(d, ["defaults", "model"]).flatMap(([m, p]) => checkModel(ctx, m, p))
  const fromSteps = eachStep(ctx, (s, base, where) => {
    if (s.model !== undefined)
      return modelRefs(s.model, [...base, "model"]).flatMap(([m, p]) => checkModel(ctx, m, p))
    if (d !== undefined) return []
    return [
      at(
        ctx,
        [...base, "id"],
        `${where} has no model: set "model" on the step or in defaults`,
        "missing-model",
        "key"
      )
    ]
  })
  return [...fromDefaults, ...fromSteps]
}

/** The `max_tokens` a step's request carries: a pack's covers each of its items and their JSON framing. */
const requestMaxTokens = (max: number, pack: number | undefined): number =>
  pack === undefined || pack <= 1 ? max : pack * (max + PACK_TOKENS_PER_ITEM)

/**
 * Every step has `max_tokens` (no cost bound without it), and each request's (a pack's, for a
 * packed step) is within what each of its models can produce; a reasoning budget in `params`
 * stays within it, since the plan prices `max_tokens` and reasoning tokens are completion tokens.
 */
export const maxTokens: Rule = (ctx) => {
  const defaults = ctx.spec.defaults ?? {}
  return eachStep(ctx, (s, base, where) => {
    const max = s.max_tokens ?? defaults.max_tokens
    if (max === undefined)
      return [
        at(
          ctx,
          [...base, "id"],
          `${where} has no max_tokens: without it no cost bound exists; set it on the step or in defaults`,
          "max-tokens",
          "key"
        )
      ]
    const where_ = s.max_tokens !== undefined ? [...base, "max_tokens"] : ["defaults", "max_tokens"]
    const reasoning = reasoningBudget(s.params) ?? reasoningBudget(defaults.params)
    if (reasoning !== undefined && reasoning > max)
      return [
        at(
          ctx,
          reasoningBudget(s.params) !== undefined
            ? [...base, "params", "reasoning", "max_tokens"]
            : ["defaults", "params", "reasoning", "max_tokens"],
          `${where}: params.reasoning.max_tokens ${reasoning} is above max_tokens ${max}: reasoning tokens are completion tokens, and the plan prices max_tokens; raise max_tokens or lower the reasoning budget`,
          "max-tokens"
        )
      ]
    const request = requestMaxTokens(max, s.pack)
    const ids = s.model ?? defaults.model
    const list = ids === undefined ? [] : typeof ids === "string" ? [ids] : ids
    for (const id of list) {
      const cap = ctx.catalog.resolve(id)?.model.maxCompletionTokens
      if (cap !== undefined && request > cap)
        return [
          at(
            ctx,
            request === max ? where_ : [...base, "pack"],
            request === max
              ? `${where}: max_tokens ${max} exceeds what "${id}" can produce (${cap} completion tokens)`
              : `${where}: a pack of ${s.pack} asks for ${request} completion tokens (${s.pack} × (max_tokens ${max} + ${PACK_TOKENS_PER_ITEM})), more than "${id}" can produce (${cap}); use pack: ${Math.max(1, Math.floor(cap / (max + PACK_TOKENS_PER_ITEM)))} or less`,
            "max-tokens"
          )
        ]
    }
    return []
  })
}

/** `params.reasoning.max_tokens`, when it is a number. */
const reasoningBudget = (params: unknown): number | undefined => {
  const r = (params as { reasoning?: { max_tokens?: unknown } } | undefined)?.reasoning?.max_tokens
  return typeof r === "number" ? r : undefined
}
