/** Liquid templates and expressions (liquidjs): parsing once, static references, rendering. */
import { Liquid, Tag, type TagToken, type Template, type TopLevelToken, TypeGuards } from "liquidjs"

/**
 * What one render or expression may allocate (list elements and string characters, liquidjs's
 * count): a `(1..1000000000)` range stops here with an error naming the limit, instead of taking
 * the machine's memory. A million-item `for_each` over data is not built by the template.
 */
export const TEMPLATE_MEMORY_LIMIT = 20_000_000
/** How long one render or expression may take (ms). */
export const TEMPLATE_TIME_LIMIT_MS = 10_000

/** Strict variables and filters: an unknown name is an error, not an empty string. */
export const liquid = new Liquid({
  strictVariables: true,
  strictFilters: true,
  ownPropertyOnly: true,
  cache: true,
  memoryLimit: TEMPLATE_MEMORY_LIMIT,
  renderLimit: TEMPLATE_TIME_LIMIT_MS
})

/** liquidjs's limit errors, said with the limit's name and size. */
const namedLimit = (message: string): string =>
  /memory alloc limit exceeded/i.test(message)
    ? `the template allocates more than its limit of ${TEMPLATE_MEMORY_LIMIT.toLocaleString("en-US")} list elements or characters (a range such as (1..N) too large?)`
    : /template render limit exceeded/i.test(message)
      ? `the template takes longer than its limit of ${TEMPLATE_TIME_LIMIT_MS / 1000} s to render`
      : message

/**
 * Tags that read files (`render`, `include`, `layout`) fail to parse: a pipeline's prompts come
 * from the pipeline alone, so a pull request's pipeline cannot send `.env` to a model.
 */
class FileTagDisabled extends Tag {
  constructor(token: TagToken, remain: TopLevelToken[], l: Liquid) {
    super(token, remain, l)
    throw new Error(`{% ${token.name} %} reads files, and pipelines do not read templates from disk`)
  }
  render(): void {}
}
for (const name of ["render", "include", "layout"]) liquid.registerTag(name, FileTagDisabled)

export interface Ref {
  /** `inputs`, `steps`, a loop variable, … */
  readonly root: string
  /** Path after the root, e.g. `["summarize", "outputs"]` for `steps.summarize.outputs`. */
  readonly path: ReadonlyArray<string | number>
  readonly row: number
  readonly col: number
}

export interface TemplateError {
  readonly message: string
  readonly row: number
  readonly col: number
}

const parsed = new Map<string, Template[]>()

/** Parses (once per text) a template. */
export const parse = (text: string): Template[] => {
  let t = parsed.get(text)
  if (t === undefined) {
    t = liquid.parse(text)
    parsed.set(text, t)
  }
  return t
}

const errorOf = (e: unknown): TemplateError => {
  const message = (e as Error).message ?? String(e)
  const m = /line:(\d+), col:(\d+)/.exec(message)
  return {
    message: message
      .replace(/, line:\d+, col:\d+[\s\S]*$/, "")
      .split("\n")[0]!
      .toLowerCase(),
    row: m ? Number(m[1]) : 1,
    col: m ? Number(m[2]) : 1
  }
}

const flatten = (segments: ReadonlyArray<unknown>): Array<string | number> =>
  segments.map((s) => (typeof s === "string" || typeof s === "number" ? s : String(s)))

export type Analysis = { readonly refs: ReadonlyArray<Ref> } | { readonly error: TemplateError }

const analysed = new Map<string, Analysis>()

/**
 * The names a template reads from outside (its globals), with positions; or its syntax error.
 * Analysed once per text: validation, ordering, planning and running all ask.
 */
export const references = (text: string): Analysis => {
  let a = analysed.get(text)
  if (a === undefined) {
    a = analyse(text)
    analysed.set(text, a)
  }
  return a
}

const analyse = (text: string): Analysis => {
  try {
    const analysis = liquid.analyzeSync(parse(text), { partials: false })
    const refs: Ref[] = []
    for (const vars of Object.values(analysis.globals))
      for (const v of vars) {
        const [root, ...path] = flatten(v.segments)
        refs.push({ root: String(root), path, row: v.location.row, col: v.location.col })
      }
    return { refs }
  } catch (e) {
    return { error: errorOf(e) }
  }
}

/**
 * Why an expression is malformed (an operator without its operands, two values side by side),
 * or undefined. liquidjs parses `inputs.flag ==` without complaint and evaluates it as false.
 */
const malformed = (expr: string): string | undefined => {
  const output = parse(`{{ ${expr} }}`)[0] as
    | { value?: { initial?: { postfix?: ReadonlyArray<unknown> } } }
    | undefined
  const postfix = output?.value?.initial?.postfix
  if (postfix === undefined) return undefined
  let depth = 0
  for (const token of postfix) {
    if (!TypeGuards.isOperatorToken(token)) {
      depth++
      continue
    }
    const arity = token.operator === "not" ? 1 : 2
    if (depth < arity)
      return `"${token.operator}" is missing ${arity === 2 && depth === 1 ? "a value on one side" : "its values"}`
    depth -= arity - 1
  }
  return depth === 1
    ? undefined
    : depth === 0
      ? "the expression is empty"
      : "two values with no operator between them"
}

/** An expression (`for_each`, `when`) is analysed as `{{ expr }}`; columns are mapped back. */
export const expressionReferences = (expr: string): Analysis => {
  const r = references(`{{ ${expr} }}`)
  if ("error" in r) return { error: { ...r.error, col: Math.max(1, r.error.col - 3) } }
  const problem = malformed(expr)
  if (problem !== undefined) return { error: { message: `malformed expression: ${problem}`, row: 1, col: 1 } }
  return { refs: r.refs.map((ref) => ({ ...ref, col: Math.max(1, ref.row === 1 ? ref.col - 3 : ref.col) })) }
}

/** Runs `f`, its limit errors said with the limit's name. */
const limited = <A>(f: () => A): A => {
  try {
    return f()
  } catch (e) {
    const message = (e as Error).message ?? String(e)
    const named = namedLimit(message)
    if (named === message) throw e
    throw new Error(named)
  }
}

/** Renders a template against a scope. Throws liquidjs errors (unknown variable …) and limit errors. */
export const render = (text: string, scope: Record<string, unknown>): string =>
  limited(() => liquid.renderSync(parse(text), scope))

/** Renders a parsed template against a scope (as `render`, for callers that parse once). */
export const renderParsed = (template: Template[], scope: Record<string, unknown>): string =>
  limited(() => liquid.renderSync(template, scope))

/** Evaluates an expression against a scope. */
export const evaluate = (expr: string, scope: Record<string, unknown>): unknown =>
  limited(() => liquid.evalValueSync(expr, scope as never))

/** Whether a `when` value lets its step run: false, null, missing, "" and "false" do not. */
export const isTruthy = (v: unknown): boolean =>
  v !== false && v !== null && v !== undefined && v !== "" && v !== "false"

/** A template's parts when it is only literal text and plain `{{ a.b }}` outputs: literals, and paths. */
type Part = string | ReadonlyArray<string>
const PLAIN_OUTPUT = /\{\{\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*\}\}/g
/** Names liquidjs reads specially (`size` counts, `first` / `last` pick): left to liquidjs. */
const SPECIAL = new Set(["size", "first", "last"])
/** Names liquidjs reads as literals at the start of a path, whatever the scope holds. */
const LITERAL = new Set(["true", "false", "nil", "null", "empty", "blank"])
/** A string longer than this goes through liquidjs, which holds it to the template memory limit. */
const PLAIN_MAX = 1_000_000
const plainParts = new Map<string, ReadonlyArray<Part> | null>()

const literal = (text: string): boolean => !text.includes("{{") && !text.includes("{%")

const partsOf = (text: string): ReadonlyArray<Part> | null => {
  const parts: Part[] = []
  let last = 0
  for (const m of text.matchAll(PLAIN_OUTPUT)) {
    const path = m[1]!.split(".")
    const before = text.slice(last, m.index)
    // a "{" just before is liquidjs's "{{" one character earlier: its parse, not ours
    if (!literal(before) || before.endsWith("{") || path.some((k) => SPECIAL.has(k)) || LITERAL.has(path[0]!))
      return null
    parts.push(before, path)
    last = m.index + m[0].length
  }
  const rest = text.slice(last)
  return literal(rest) ? [...parts, rest] : null
}

/** The parts of a plain template (parsed once per text), or null when liquidjs must render it. */
const plainOf = (text: string): ReadonlyArray<Part> | null => {
  let parts = plainParts.get(text)
  if (parts === undefined) {
    parts = partsOf(text)
    plainParts.set(text, parts)
  }
  return parts
}

/** A path's value in the scope when every step is an own property and it ends in a string or finite number. */
const plainValue = (scope: Record<string, unknown>, path: ReadonlyArray<string>): string | undefined => {
  let v: unknown = scope
  for (const k of path) {
    if (v === null || typeof v !== "object" || Array.isArray(v) || !Object.hasOwn(v, k)) return undefined
    v = (v as Record<string, unknown>)[k]
  }
  if (typeof v === "string") return v.length <= PLAIN_MAX ? v : undefined
  return typeof v === "number" && Number.isFinite(v) ? String(v) : undefined
}

/**
 * As `render`, faster for the common prompt: literal text and `{{ item.field }}` outputs of
 * strings and numbers are put together directly; anything else (a filter, a tag, a missing or
 * inherited name, another kind of value) is rendered by liquidjs, with its errors.
 */
export const renderFast = (text: string, scope: Record<string, unknown>): string => {
  const parts = plainOf(text)
  if (parts === null) return render(text, scope)
  let out = ""
  for (const p of parts) {
    const v = typeof p === "string" ? p : plainValue(scope, p)
    if (v === undefined) return render(text, scope)
    out += v
  }
  return out
}
