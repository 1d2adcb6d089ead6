/** Steps in dependency order (the checks have ruled out cycles). */
import { Scheduler } from "@tollgate/core"
import type { Pipeline, Step } from "./Pipeline.ts"
import { expressionReferences, references } from "./Templates.ts"

/** The steps a step depends on: those its templates and expressions reference, plus `needs`. */
export const dependencies = (step: Step): ReadonlyArray<string> => {
  const deps = new Set(step.needs)
  const texts = step.messages.map((m) => references(m.content))
  if (step.forEach !== undefined) texts.push(expressionReferences(step.forEach))
  if (step.when !== undefined) texts.push(expressionReferences(step.when))
  for (const t of texts)
    if ("refs" in t)
      for (const r of t.refs) if (r.root === "steps" && r.path[0] !== undefined) deps.add(String(r.path[0]))
  return [...deps]
}

/** Step ids an expression reads (`steps.<id>…`). */
export const dependenciesOfExpression = (expr: string): string[] => {
  const r = expressionReferences(expr)
  return "refs" in r
    ? r.refs.filter((x) => x.root === "steps" && x.path[0] !== undefined).map((x) => String(x.path[0]))
    : []
}

export const order = (pipeline: Pipeline): Step[] => {
  const byId = new Map(pipeline.steps.map((s) => [s.id, s]))
  return Scheduler.topoOrder(pipeline.steps.map((s) => ({ id: s.id, needs: dependencies(s) }))).map(
    (id) => byId.get(id)!
  )
}
