/**
 * The step graph: which steps a step reads (templates, `for_each`, `when`) or `needs`, in one
 * reference extractor; dependency order; and cycles, through core's one cycle finder.
 */
import * as Scheduler from "@tollgate/core/Scheduler"
import { type Pipeline, type Step, type StepSpec, stepMessages } from "./Pipeline.ts"
import { expressionReferences, type Ref, references } from "./Templates.ts"

/** Step ids among references (`steps.<id>…`). */
export const stepIdsOf = (refs: ReadonlyArray<Ref>): string[] =>
  refs.flatMap((r) => (r.root === "steps" && r.path[0] !== undefined ? [String(r.path[0])] : []))

/** Step ids a template or an expression reads; none when it does not parse (a diagnostic elsewhere). */
export const stepsReadBy = (text: string, kind: "template" | "expression"): string[] => {
  const r = kind === "expression" ? expressionReferences(text) : references(text)
  return "refs" in r ? stepIdsOf(r.refs) : []
}

interface StepTexts {
  readonly templates: ReadonlyArray<string>
  readonly forEach: string | undefined
  readonly when: string | undefined
  readonly needs: ReadonlyArray<string>
}

const dependenciesOfTexts = (s: StepTexts): string[] => {
  const deps = new Set(s.needs)
  for (const t of s.templates) for (const id of stepsReadBy(t, "template")) deps.add(id)
  for (const e of [s.forEach, s.when])
    if (e !== undefined) for (const id of stepsReadBy(e, "expression")) deps.add(id)
  return [...deps]
}

/** The steps a step depends on: those its templates and expressions read, plus `needs`. */
export const dependencies = (step: Step): string[] =>
  dependenciesOfTexts({
    templates: step.messages.map((m) => m.content),
    forEach: step.forEach,
    when: step.when,
    needs: step.needs
  })

/** The same, for a step as written (before defaults), for the semantic checks. */
export const specDependencies = (s: StepSpec, index: number): string[] =>
  dependenciesOfTexts({
    templates: stepMessages(s, index).messages.map((m) => m.content),
    forEach: s.for_each,
    when: s.when,
    needs: s.needs ?? []
  })

/** Steps in dependency order (the checks have ruled out cycles). */
export const order = (pipeline: Pipeline): Step[] => {
  const byId = new Map(pipeline.steps.map((s) => [s.id, s]))
  return Scheduler.topoOrder(pipeline.steps.map((s) => ({ id: s.id, needs: dependencies(s) }))).map(
    (id) => byId.get(id)!
  )
}

/** A cycle among the steps as written, as ids with the first repeated last; undefined when none. */
export const cycleOf = (steps: ReadonlyArray<StepSpec>): string[] | undefined =>
  // a step reading itself is its own diagnostic, not a cycle through others
  Scheduler.findCycle(
    steps.map((s, i) => ({ id: s.id, needs: specDependencies(s, i).filter((d) => d !== s.id) }))
  )

/** Steps whose outputs a later step or a pipeline output reads (their results are kept in memory). */
export const referencedSteps = (pipeline: Pipeline): ReadonlySet<string> =>
  new Set([
    ...pipeline.steps.flatMap(dependencies),
    ...Object.values(pipeline.outputs).flatMap((t) => stepsReadBy(t, "template"))
  ])
