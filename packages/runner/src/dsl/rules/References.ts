/**
 * References in templates and expressions: every `inputs.x` is declared, every `steps.x` names
 * another step and the right kind of result (`output` or `outputs`), every other name is a loop
 * variable in scope, and the text parses.
 */
import type { Diagnostic } from "../Diagnostics.ts"
import type { Path } from "../Load.ts"
import { stepMessages } from "../Pipeline.ts"
import { expressionReferences, type Ref, references } from "../Templates.ts"
import { atIn, type Rule, type RuleContext } from "./Rule.ts"

interface Scope {
  /** The step the text belongs to (it may not read itself). */
  readonly self: string | undefined
  readonly loopVars: ReadonlyArray<string>
  readonly expression: boolean
  /** `step "x"`, `step "x" for_each`, `output "y"`. */
  readonly what: string
}

const refText = (r: Ref) => [r.root, ...r.path].join(".")

const inputRef = (ctx: RuleContext, r: Ref, what: string): string | undefined => {
  const inputs = Object.keys(ctx.spec.inputs ?? {})
  const name = r.path[0]
  if (name === undefined || inputs.includes(String(name))) return undefined
  return `${what} refers to unknown input "${name}"${inputs.length > 0 ? `; inputs: ${inputs.join(", ")}` : "; the pipeline declares no inputs"}`
}

const stepRef = (ctx: RuleContext, r: Ref, scope: Scope): [string, string] | undefined => {
  const id = r.path[0]
  if (id === undefined) return undefined
  const target = ctx.byId.get(String(id))
  if (target === undefined)
    return [
      `${scope.what} refers to unknown step "${id}"; steps: ${[...ctx.byId.keys()].join(", ")}`,
      "unknown-step"
    ]
  if (String(id) === scope.self) return [`${scope.what} refers to its own step "${id}"`, "cycle"]
  const kind = r.path[1]
  const fanOut = target.for_each !== undefined
  if (kind !== "output" && kind !== "outputs")
    return [
      `"${refText(r)}": a step exposes "output" (one request) or "outputs" (for_each), not "${kind ?? ""}"`,
      "output-kind"
    ]
  if (kind === "output" && fanOut)
    return [
      `"${refText(r)}": step "${id}" uses for_each, so it has "outputs" (a list in item order), not "output"`,
      "output-kind"
    ]
  if (kind === "outputs" && !fanOut)
    return [
      `"${refText(r)}": step "${id}" makes one request, so it has "output", not "outputs"`,
      "output-kind"
    ]
  return undefined
}

/** One reference's problem, as [message, rule]. */
const problemOf = (ctx: RuleContext, r: Ref, scope: Scope): [string, string] | undefined => {
  if (r.root === "inputs") {
    const m = inputRef(ctx, r, scope.what)
    return m === undefined ? undefined : [m, "unknown-input"]
  }
  if (r.root === "steps") return stepRef(ctx, r, scope)
  if (scope.loopVars.includes(r.root)) return undefined
  const names = ["inputs", "steps", ...scope.loopVars]
  return [
    `${scope.what} refers to unknown variable "${r.root}"; names in scope: ${names.join(", ")}`,
    "unknown-variable"
  ]
}

/** Every problem with the references of one template or expression. */
export const checkText = (ctx: RuleContext, path: Path, text: string, scope: Scope): Diagnostic[] => {
  const analysed = scope.expression ? expressionReferences(text) : references(text)
  if ("error" in analysed) {
    const e = analysed.error
    return [atIn(ctx, path, e.row, e.col, `${scope.what}: ${e.message}`, "template-syntax")]
  }
  return analysed.refs.flatMap((r) => {
    const p = problemOf(ctx, r, scope)
    return p === undefined ? [] : [atIn(ctx, path, r.row, r.col, p[0], p[1])]
  })
}

/** Each step's messages, `for_each` and `when`. */
export const stepReferences: Rule = (ctx) =>
  ctx.spec.steps.flatMap((s, i) => {
    const where = `step "${s.id}"`
    const base = ["steps", i]
    const loopVars = s.for_each !== undefined ? [s.as ?? "item", "index"] : []
    const { messages, paths } = stepMessages(s, i)
    const fromMessages = messages.flatMap((m, j) =>
      checkText(ctx, paths[j]!, m.content, { self: s.id, loopVars, expression: false, what: where })
    )
    const expr = (key: "for_each" | "when", text: string | undefined) =>
      text === undefined
        ? []
        : checkText(ctx, [...base, key], text, {
            self: s.id,
            loopVars: [],
            expression: true,
            what: `${where} ${key}`
          })
    return [...fromMessages, ...expr("for_each", s.for_each), ...expr("when", s.when)]
  })

/** The pipeline's `outputs` templates. */
export const outputReferences: Rule = (ctx) =>
  Object.entries(ctx.spec.outputs ?? {}).flatMap(([name, text]) =>
    checkText(ctx, ["outputs", name], text, {
      self: undefined,
      loopVars: [],
      expression: false,
      what: `output "${name}"`
    })
  )
