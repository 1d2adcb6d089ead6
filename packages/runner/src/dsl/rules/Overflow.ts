/**
 * `overflow:` (free first, then paid for what the deadline needs): only a step on free models
 * overflows; its overflow model is known, priced and paid, and can take the step's `max_tokens`;
 * packed steps do not overflow yet.
 */

import { parseDeadline } from "../Deadline.ts"
import type { Diagnostic } from "../Diagnostics.ts"
import type { Path } from "../Load.ts"
import { overflowOf } from "../Pipeline.ts"
import type { StepSpec } from "../PipelineSpec.ts"
import { checkModel } from "./Models.ts"
import { at, eachStep, type Rule, type RuleContext } from "./Rule.ts"

const asList = (m: string | ReadonlyArray<string> | undefined): ReadonlyArray<string> =>
  m === undefined ? [] : typeof m === "string" ? [m] : m

/** What the step must be to overflow at all: on free models, not packed. */
const fromFree = (
  ctx: RuleContext,
  s: StepSpec,
  where: string,
  path: Path,
  models: ReadonlyArray<string>
) => {
  if (!models.every((m) => ctx.catalog.resolve(m)?.model.free === true))
    return [
      at(
        ctx,
        path,
        `${where}: overflow is for a step on a free model (its requests go to the paid one when the deadline needs them); "${models.join('", "')}" is not free`,
        "overflow",
        "key"
      )
    ]
  if (s.pack !== undefined && s.pack > 1)
    return [
      at(
        ctx,
        path,
        `${where}: a packed step (pack: ${s.pack}) does not overflow yet; drop pack or overflow`,
        "overflow",
        "key"
      )
    ]
  return []
}

/** What the overflow model must be: known and priced, paid, able to take the step's `max_tokens`. */
const toPaid = (
  ctx: RuleContext,
  where: string,
  id: string,
  path: Path,
  named: boolean,
  max: number | undefined
): Diagnostic[] => {
  if (named) {
    const known = checkModel(ctx, id, path)
    if (known.length > 0) return known
  }
  const model = ctx.catalog.resolve(id)?.model
  if (model === undefined)
    return [
      at(
        ctx,
        path,
        `${where}: the catalog has no paid variant "${id}"; name the paid model: overflow: { model: … }`,
        "overflow",
        "key"
      )
    ]
  if (model.free)
    return [
      at(ctx, path, `${where}: overflow model "${id}" is free; the overflow must be a paid model`, "overflow")
    ]
  const cap = Math.min(
    model.maxCompletionTokens ?? Number.POSITIVE_INFINITY,
    model.contextLength ?? Number.POSITIVE_INFINITY
  )
  if (max !== undefined && max > cap)
    return [
      at(
        ctx,
        path,
        `${where}: max_tokens ${max} is more than overflow model "${id}" can take (${cap} tokens)`,
        "overflow"
      )
    ]
  return []
}

/** Every step that overflows: from a free model, to a paid one that can take its requests. */
export const overflow: Rule = (ctx) => {
  const d = ctx.spec.defaults ?? {}
  return eachStep(ctx, (s, base, where) => {
    const o = s.overflow ?? d.overflow
    const models = asList(s.model ?? d.model)
    if (o === undefined || models.length === 0) return []
    const path: Path = s.overflow !== undefined ? [...base, "overflow"] : ["defaults", "overflow"]
    const step = fromFree(ctx, s, where, path, models)
    if (step.length > 0) return step
    const named = o.model !== undefined
    return toPaid(
      ctx,
      where,
      overflowOf(o, models)!,
      named ? [...path, "model"] : path,
      named,
      s.max_tokens ?? d.max_tokens
    )
  })
}

/** A deadline the schema's pattern lets through must still be a real instant (no 2026-02-30, no 25:00). */
export const deadline: Rule = (ctx) => {
  const d = ctx.spec.deadline
  return d === undefined || parseDeadline(d, 0) !== undefined
    ? []
    : [
        at(
          ctx,
          ["deadline"],
          `deadline "${d}" is not a real instant (a day or an hour that does not exist)`,
          "deadline"
        )
      ]
}
