/** Rules about models and `max_tokens`: known, priced, set, and within what the model can produce. */
import type { Diagnostic } from "../Diagnostics.ts"
import type { Path } from "../Load.ts"
import { at, eachStep, modelRefs, type Rule, type RuleContext } from "./Rule.ts"

const checkModel = (ctx: RuleContext, id: string, path: Path): Diagnostic[] => {
  const resolved = ctx.catalog.resolve(id)
  if (resolved === undefined) {
    const s = ctx.catalog.suggest(id)
    const hint = s.length > 0 ? `; did you mean ${s.map((x) => `"${x}"`).join(", ")}?` : ""
    return [at(ctx, path, `unknown model "${id}"${hint}`, "unknown-model")]
  }
  if (resolved.model.unknownPrice)
    return [
      at(
        ctx,
        path,
        `model "${id}" has no published price ("-1": a router); no cost bound exists, name a concrete model`,
        "unknown-price"
      )
    ]
  return []
}

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

/** Every step has `max_tokens` (no cost bound without it), within what each of its models can produce. */
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
    const ids = s.model ?? defaults.model
    const list = ids === undefined ? [] : typeof ids === "string" ? [ids] : ids
    for (const id of list) {
      const cap = ctx.catalog.resolve(id)?.model.maxCompletionTokens
      if (cap !== undefined && max > cap)
        return [
          at(
            ctx,
            s.max_tokens !== undefined ? [...base, "max_tokens"] : ["defaults", "max_tokens"],
            `${where}: max_tokens ${max} exceeds what "${id}" can produce (${cap} completion tokens)`,
            "max-tokens"
          )
        ]
    }
    return []
  })
}
