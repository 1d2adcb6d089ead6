/**
 * Every element a `for_each` walks has the fields the step's prompts read (`{{ item.text }}`):
 * the most common data mistake, caught at the element's own line in its data file (or at the
 * input in the pipeline) instead of failing mid-run.
 */
import type { Diagnostic } from "../Diagnostics.ts"
import { type StepSpec, stepMessages } from "../Pipeline.ts"
import { expressionReferences, references } from "../Templates.ts"
import { at, type Rule, type RuleContext } from "./Rule.ts"

/** How many rows a missing field is reported for before one line sums up the rest. */
const SHOWN = 5

/** The input a step walks when its `for_each` is exactly `inputs.<name>`. */
const walkedInput = (s: StepSpec): string | undefined => {
  if (s.for_each === undefined) return undefined
  const r = expressionReferences(s.for_each)
  if ("error" in r || r.refs.length !== 1) return undefined
  const ref = r.refs[0]!
  return ref.root === "inputs" && ref.path.length === 1 ? String(ref.path[0]) : undefined
}

/** The fields of the loop variable the step's prompts read. */
const fieldsRead = (s: StepSpec, index: number): string[] => {
  const loopVar = s.as ?? "item"
  const fields = new Set<string>()
  for (const m of stepMessages(s, index).messages) {
    const r = references(m.content)
    if ("refs" in r)
      for (const ref of r.refs)
        if (ref.root === loopVar && typeof ref.path[0] === "string") fields.add(ref.path[0])
  }
  return [...fields]
}

/** Properties liquidjs gives values of its own: `size` (strings, lists, maps), `first` and `last` (lists). */
const LIQUID_PROPERTIES = new Set(["size", "first", "last"])

const hasField = (row: unknown, field: string) =>
  (LIQUID_PROPERTIES.has(field) && row !== null && row !== undefined) ||
  (typeof row === "object" && row !== null && !Array.isArray(row) && Object.hasOwn(row, field))

const missingIn = (
  ctx: RuleContext,
  s: StepSpec,
  name: string,
  field: string,
  rows: ReadonlyArray<unknown>
): Diagnostic[] => {
  const missing: number[] = []
  for (let i = 0; i < rows.length; i++) if (!hasField(rows[i], field)) missing.push(i)
  if (missing.length === 0) return []
  const where = ctx.inputRows?.[name]
  const loopVar = s.as ?? "item"
  const message = (i: number) =>
    where !== undefined
      ? `row ${i + 1} has no field "${field}", which step "${s.id}" reads as {{ ${loopVar}.${field} }}`
      : `input "${name}": element ${i} has no field "${field}", which step "${s.id}" reads as {{ ${loopVar}.${field} }}`
  const diagnosticAt = (i: number, text: string): Diagnostic => {
    if (where === undefined) return at(ctx, ["inputs", name], text, "data-field", "key")
    return { file: where.file, line: where.lines[i] ?? 1, col: 1, message: text, rule: "data-field" }
  }
  const shown = missing.slice(0, SHOWN).map((i) => diagnosticAt(i, message(i)))
  const rest = missing.length - SHOWN
  if (rest <= 0) return shown
  const next = missing[SHOWN]!
  return [...shown, diagnosticAt(next, `${message(next)} (and ${rest - 1} more rows after it)`)]
}

export const dataFields: Rule = (ctx) =>
  ctx.spec.steps.flatMap((s, i) => {
    const name = walkedInput(s)
    const rows = name === undefined ? undefined : ctx.inputValues?.[name]
    if (name === undefined || !Array.isArray(rows)) return []
    return fieldsRead(s, i).flatMap((field) => missingIn(ctx, s, name, field, rows))
  })
