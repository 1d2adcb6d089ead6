/** `for_each` over something known not to be a list: an input whose value is not one, or a text step's reply. */
import type { Diagnostic } from "../Diagnostics.ts"
import type { Path } from "../Load.ts"
import type { StepSpec } from "../Pipeline.ts"
import { expressionReferences, type Ref } from "../Templates.ts"
import { at, eachStep, type Rule, type RuleContext } from "./Rule.ts"

const valueAt = (root: unknown, path: ReadonlyArray<string | number>): unknown =>
  path.reduce<unknown>((v, seg) => (v as Record<string | number, unknown> | null | undefined)?.[seg], root)

const overInput = (ctx: RuleContext, r: Ref, path: Path, s: StepSpec, where: string): Diagnostic[] => {
  const values = ctx.inputValues
  const name = String(r.path[0])
  if (values === undefined || !(name in values)) return []
  const v = valueAt(values[name], r.path.slice(1))
  if (v === undefined || Array.isArray(v)) return []
  return [
    at(
      ctx,
      path,
      `${where} for_each: "${s.for_each}" is ${v === null ? "null" : typeof v}, not a list`,
      "for-each"
    )
  ]
}

const overTextStep = (ctx: RuleContext, r: Ref, path: Path, where: string): Diagnostic[] => {
  const target = ctx.byId.get(String(r.path[0]))
  if (target === undefined || r.path[1] !== "output" || r.path.length !== 2) return []
  if ((target.output?.format ?? "text") !== "text") return []
  return [
    at(
      ctx,
      path,
      `${where} for_each: step "${target.id}" replies with text, not a list; use output.format: json`,
      "for-each"
    )
  ]
}

export const forEachIsList: Rule = (ctx) =>
  eachStep(ctx, (s, base, where) => {
    if (s.for_each === undefined) return []
    const analysed = expressionReferences(s.for_each)
    if ("error" in analysed || analysed.refs.length !== 1) return []
    const r = analysed.refs[0]!
    const path = [...base, "for_each"]
    if (r.root === "inputs") return overInput(ctx, r, path, s, where)
    if (r.root === "steps") return overTextStep(ctx, r, path, where)
    return []
  })
