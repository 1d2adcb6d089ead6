/** What a semantic rule sees, and how it points at a place in the pipeline. */
import type * as Catalog from "@tollgate/pricing/Catalog"
import type { Diagnostic } from "../Diagnostics.ts"
import type { InputRows } from "../Inputs.ts"
import { type Loaded, locate, locateInScalar, type Path } from "../Load.ts"
import type { PipelineSpec, StepSpec } from "../Pipeline.ts"

export interface RuleContext {
  readonly loaded: Loaded
  readonly spec: PipelineSpec
  readonly catalog: Catalog.Catalog
  /** Input values, when known (for checks such as `for_each` over a list). */
  readonly inputValues: Readonly<Record<string, unknown>> | undefined
  /** For inputs read from a data file as a list: the file and each element's line. */
  readonly inputRows?: Readonly<Record<string, InputRows>> | undefined
  /** Steps by id (the first of duplicates). */
  readonly byId: ReadonlyMap<string, StepSpec>
}

/** A semantic rule: pure, returns its diagnostics. */
export type Rule = (ctx: RuleContext) => Diagnostic[]

/** A diagnostic at a value (`value`) or its key (`key`) in the pipeline. */
export const at = (
  ctx: RuleContext,
  path: Path,
  message: string,
  rule: string,
  mode: "value" | "key" = "value"
): Diagnostic => {
  const p = locate(ctx.loaded, path, mode)
  return { file: ctx.loaded.file, line: p.line, col: p.col, message, rule }
}

/** A diagnostic at a row/col inside the template at `path`. */
export const atIn = (
  ctx: RuleContext,
  path: Path,
  row: number,
  col: number,
  message: string,
  rule: string
): Diagnostic => {
  const p = locateInScalar(ctx.loaded, path, row, col)
  return { file: ctx.loaded.file, line: p.line, col: p.col, message, rule }
}

/** `steps[i]` with its where-words, for rules that look at each step. */
export const eachStep = (ctx: RuleContext, f: (s: StepSpec, base: Path, where: string) => Diagnostic[]) =>
  ctx.spec.steps.flatMap((s, i) => f(s, ["steps", i], `step "${s.id}"`))

/** A model setting as a list of ids with their paths. */
export const modelRefs = (model: string | ReadonlyArray<string>, path: Path): Array<[string, Path]> =>
  typeof model === "string" ? [[model, path]] : model.map((m, j) => [m, [...path, j]])
