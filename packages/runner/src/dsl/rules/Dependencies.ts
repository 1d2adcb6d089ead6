/** Rules about the step graph: `needs` names other steps, and no steps form a cycle. */
import { cycleOf } from "../Graph.ts"
import { at, eachStep, type Rule } from "./Rule.ts"

/** Every `needs` entry is another step of the pipeline. */
export const needs: Rule = (ctx) =>
  eachStep(ctx, (s, base, where) =>
    (s.needs ?? []).flatMap((n, j) => {
      if (n === s.id) return [at(ctx, [...base, "needs", j], `${where} needs itself`, "cycle")]
      if (ctx.byId.has(n)) return []
      return [
        at(
          ctx,
          [...base, "needs", j],
          `${where} needs unknown step "${n}"; steps: ${[...ctx.byId.keys()].join(", ")}`,
          "unknown-step"
        )
      ]
    })
  )

/** The steps, through what they read and need, form no cycle. */
export const cycles: Rule = (ctx) => {
  const cycle = cycleOf(ctx.spec.steps)
  if (cycle === undefined) return []
  const first = ctx.spec.steps.findIndex((s) => s.id === cycle[0])
  return [at(ctx, ["steps", first, "id"], `steps form a cycle: ${cycle.join(" -> ")}`, "cycle")]
}
