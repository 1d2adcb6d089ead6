/**
 * Semantic checks after the schema: references in templates and expressions, `output` vs
 * `outputs`, cycles, models, `max_tokens`, loop variables, `for_each` over non-arrays.
 */
import type { Catalog } from "@tollgate/pricing"
import { Ajv } from "ajv"
import type { Diagnostic } from "./Diagnostics.ts"
import { type Loaded, locate, locateInScalar, type Path } from "./Load.ts"
import { type PipelineSpec, type StepSpec, stepMessages } from "./Pipeline.ts"
import { expressionReferences, type Ref, references } from "./Templates.ts"

interface Ctx {
  readonly loaded: Loaded
  readonly spec: PipelineSpec
  readonly out: Diagnostic[]
  readonly byId: ReadonlyMap<string, StepSpec>
}

const push = (ctx: Ctx, path: Path, message: string, rule: string, mode: "value" | "key" = "value") => {
  const p = locate(ctx.loaded, path, mode)
  ctx.out.push({ file: ctx.loaded.file, line: p.line, col: p.col, message, rule })
}

/** A diagnostic at a row/col inside the template at `path`. */
const pushIn = (ctx: Ctx, path: Path, row: number, col: number, message: string, rule: string) => {
  const p = locateInScalar(ctx.loaded, path, row, col)
  ctx.out.push({ file: ctx.loaded.file, line: p.line, col: p.col, message, rule })
}

const refText = (r: Ref) => [r.root, ...r.path].join(".")

/** Checks one template's references; returns the step references it makes. */
const checkRefs = (
  ctx: Ctx,
  path: Path,
  text: string,
  scope: {
    readonly self: string | undefined
    readonly loopVars: ReadonlyArray<string>
    readonly expression: boolean
    readonly what: string
  }
): Ref[] => {
  const analysed = scope.expression ? expressionReferences(text) : references(text)
  if ("error" in analysed) {
    pushIn(
      ctx,
      path,
      analysed.error.row,
      analysed.error.col,
      `${scope.what}: ${analysed.error.message}`,
      "template-syntax"
    )
    return []
  }
  const stepRefs: Ref[] = []
  const inputs = ctx.spec.inputs ?? {}
  for (const r of analysed.refs) {
    const at = (message: string, rule: string) => pushIn(ctx, path, r.row, r.col, message, rule)
    if (r.root === "inputs") {
      const name = r.path[0]
      if (name === undefined) continue
      if (!(String(name) in inputs))
        at(
          `${scope.what} refers to unknown input "${name}"${Object.keys(inputs).length > 0 ? `; inputs: ${Object.keys(inputs).join(", ")}` : "; the pipeline declares no inputs"}`,
          "unknown-input"
        )
    } else if (r.root === "steps") {
      const id = r.path[0]
      if (id === undefined) continue
      const target = ctx.byId.get(String(id))
      if (target === undefined) {
        at(
          `${scope.what} refers to unknown step "${id}"; steps: ${[...ctx.byId.keys()].join(", ")}`,
          "unknown-step"
        )
        continue
      }
      if (String(id) === scope.self) {
        at(`${scope.what} refers to its own step "${id}"`, "cycle")
        continue
      }
      const kind = r.path[1]
      const fanOut = target.for_each !== undefined
      if (kind !== "output" && kind !== "outputs")
        at(
          `"${refText(r)}": a step exposes "output" (one request) or "outputs" (for_each), not "${kind ?? ""}"`,
          "output-kind"
        )
      else if (kind === "output" && fanOut)
        at(
          `"${refText(r)}": step "${id}" uses for_each, so it has "outputs" (a list in item order), not "output"`,
          "output-kind"
        )
      else if (kind === "outputs" && !fanOut)
        at(
          `"${refText(r)}": step "${id}" makes one request, so it has "output", not "outputs"`,
          "output-kind"
        )
      stepRefs.push(r)
    } else if (!scope.loopVars.includes(r.root)) {
      const names = ["inputs", "steps", ...scope.loopVars]
      at(
        `${scope.what} refers to unknown variable "${r.root}"; names in scope: ${names.join(", ")}`,
        "unknown-variable"
      )
    }
  }
  return stepRefs
}

/** Finds a cycle in the dependency graph; returns it as a path of ids, first id repeated last. */
export const findCycle = (deps: ReadonlyMap<string, ReadonlySet<string>>): string[] | undefined => {
  const state = new Map<string, 1 | 2>()
  const stack: string[] = []
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 2) return undefined
    if (state.get(id) === 1) return [...stack.slice(stack.indexOf(id)), id]
    state.set(id, 1)
    stack.push(id)
    for (const d of deps.get(id) ?? []) {
      if (!deps.has(d)) continue
      const c = visit(d)
      if (c) return c
    }
    stack.pop()
    state.set(id, 2)
    return undefined
  }
  for (const id of deps.keys()) {
    const c = visit(id)
    if (c) return c
  }
  return undefined
}

export const checkSemantics = (
  loaded: Loaded,
  spec: PipelineSpec,
  catalog: Catalog.Catalog,
  inputValues: Readonly<Record<string, unknown>> | undefined
): Diagnostic[] => {
  const out: Diagnostic[] = []
  const byId = new Map<string, StepSpec>()
  const ctx: Ctx = { loaded, spec, out, byId }
  spec.steps.forEach((s, i) => {
    if (byId.has(s.id)) push(ctx, ["steps", i, "id"], `duplicate step id "${s.id}"`, "duplicate-step")
    else byId.set(s.id, s)
  })
  const deps = new Map<string, Set<string>>()
  const defaults = spec.defaults ?? {}

  const checkModel = (path: Path, model: string) => {
    const resolved = catalog.resolve(model)
    if (resolved === undefined) {
      const s = catalog.suggest(model)
      push(
        ctx,
        path,
        `unknown model "${model}"${s.length > 0 ? `; did you mean ${s.map((x) => `"${x}"`).join(", ")}?` : ""}`,
        "unknown-model"
      )
    } else if (resolved.model.unknownPrice)
      push(
        ctx,
        path,
        `model "${model}" has no published price ("-1": a router); no cost bound exists, name a concrete model`,
        "unknown-price"
      )
  }

  if (defaults.model !== undefined) {
    const list = typeof defaults.model === "string" ? [defaults.model] : defaults.model
    list.forEach((m, j) => {
      checkModel(typeof defaults.model === "string" ? ["defaults", "model"] : ["defaults", "model", j], m)
    })
  }

  spec.steps.forEach((s, i) => {
    const where = `step "${s.id}"`
    const base: Path = ["steps", i]
    const d = new Set<string>()
    const stepRefs: Ref[] = []
    // model
    if (s.model === undefined && defaults.model === undefined)
      push(
        ctx,
        [...base, "id"],
        `${where} has no model: set "model" on the step or in defaults`,
        "missing-model",
        "key"
      )
    else if (s.model !== undefined) {
      const list = typeof s.model === "string" ? [s.model] : s.model
      list.forEach((m, j) => {
        checkModel(typeof s.model === "string" ? [...base, "model"] : [...base, "model", j], m)
      })
    }
    // max_tokens
    if (s.max_tokens === undefined && defaults.max_tokens === undefined)
      push(
        ctx,
        [...base, "id"],
        `${where} has no max_tokens: without it no cost bound exists; set it on the step or in defaults`,
        "max-tokens",
        "key"
      )
    // max_tokens the model cannot produce: the provider would refuse the request
    const maxTokens = s.max_tokens ?? defaults.max_tokens
    const modelIds = s.model ?? defaults.model
    if (maxTokens !== undefined && modelIds !== undefined) {
      for (const id of typeof modelIds === "string" ? [modelIds] : modelIds) {
        const cap = catalog.resolve(id)?.model.maxCompletionTokens
        if (cap !== undefined && maxTokens > cap) {
          push(
            ctx,
            s.max_tokens !== undefined ? [...base, "max_tokens"] : ["defaults", "max_tokens"],
            `${where}: max_tokens ${maxTokens} exceeds what "${id}" can produce (${cap} completion tokens)`,
            "max-tokens"
          )
          break
        }
      }
    }
    // prompt xor messages
    if (s.prompt !== undefined && s.messages !== undefined)
      push(
        ctx,
        [...base, "messages"],
        `${where} has both "prompt" and "messages"; use one`,
        "prompt-or-messages",
        "key"
      )
    else if (s.prompt === undefined && s.messages === undefined)
      push(ctx, [...base, "id"], `${where} has neither "prompt" nor "messages"`, "prompt-or-messages", "key")
    if (s.system !== undefined && s.messages !== undefined)
      push(
        ctx,
        [...base, "system"],
        `${where}: "system" goes with "prompt"; with "messages", add a system message`,
        "prompt-or-messages",
        "key"
      )
    if (s.for_each === undefined && s.as !== undefined)
      push(
        ctx,
        [...base, "as"],
        `${where}: "as" names the loop variable of for_each, and the step has no for_each`,
        "for-each",
        "key"
      )
    if (s.for_each === undefined && s.max_items !== undefined)
      push(
        ctx,
        [...base, "max_items"],
        `${where}: "max_items" bounds for_each, and the step has no for_each`,
        "for-each",
        "key"
      )
    if (s.output?.schema !== undefined) {
      if (s.output.format !== "json")
        push(
          ctx,
          [...base, "output", "schema"],
          `${where}: output.schema needs output.format: json`,
          "output-schema",
          "key"
        )
      try {
        new Ajv({ strict: false }).compile(s.output.schema)
      } catch (e) {
        push(
          ctx,
          [...base, "output", "schema"],
          `${where}: output.schema is not a valid JSON Schema: ${(e as Error).message}`,
          "output-schema"
        )
      }
    }
    // templates
    const loopVars = s.for_each !== undefined ? [s.as ?? "item", "index"] : []
    const { messages, paths } = stepMessages(s, i)
    messages.forEach((m, j) => {
      stepRefs.push(
        ...checkRefs(ctx, paths[j]!, m.content, { self: s.id, loopVars, expression: false, what: where })
      )
    })
    if (s.for_each !== undefined) {
      const r = checkRefs(ctx, [...base, "for_each"], s.for_each, {
        self: s.id,
        loopVars: [],
        expression: true,
        what: `${where} for_each`
      })
      stepRefs.push(...r)
      checkForEachIsArray(ctx, [...base, "for_each"], s.for_each, inputValues, where)
    }
    if (s.when !== undefined)
      stepRefs.push(
        ...checkRefs(ctx, [...base, "when"], s.when, {
          self: s.id,
          loopVars: [],
          expression: true,
          what: `${where} when`
        })
      )
    for (const r of stepRefs) d.add(String(r.path[0]))
    ;(s.needs ?? []).forEach((n, j) => {
      if (n === s.id) push(ctx, [...base, "needs", j], `${where} needs itself`, "cycle")
      else if (!byId.has(n))
        push(
          ctx,
          [...base, "needs", j],
          `${where} needs unknown step "${n}"; steps: ${[...byId.keys()].join(", ")}`,
          "unknown-step"
        )
      else d.add(n)
    })
    if (!deps.has(s.id)) {
      deps.set(s.id, d)
    }
  })
  for (const [name, text] of Object.entries(spec.outputs ?? {}))
    checkRefs(ctx, ["outputs", name], text, {
      self: undefined,
      loopVars: [],
      expression: false,
      what: `output "${name}"`
    })
  const cycle = findCycle(deps)
  if (cycle !== undefined) {
    const first = spec.steps.findIndex((s) => s.id === cycle[0])
    push(ctx, ["steps", first, "id"], `steps form a cycle: ${cycle.join(" -> ")}`, "cycle")
  }
  return out
}

/** `for_each: inputs.x` over an input whose value is known and is not a list; `steps.x.output` of a text step. */
const checkForEachIsArray = (
  ctx: Ctx,
  path: Path,
  expr: string,
  inputValues: Readonly<Record<string, unknown>> | undefined,
  where: string
) => {
  const analysed = expressionReferences(expr)
  if ("error" in analysed || analysed.refs.length !== 1) return
  const r = analysed.refs[0]!
  if (r.root === "inputs" && inputValues !== undefined) {
    const name = String(r.path[0])
    if (!(name in inputValues)) return
    let v: unknown = inputValues[name]
    for (const seg of r.path.slice(1)) v = (v as Record<string | number, unknown> | null | undefined)?.[seg]
    if (v !== undefined && !Array.isArray(v))
      push(
        ctx,
        path,
        `${where} for_each: "${expr}" is ${v === null ? "null" : typeof v}, not a list`,
        "for-each"
      )
  } else if (r.root === "steps") {
    const target = ctx.byId.get(String(r.path[0]))
    if (
      target !== undefined &&
      r.path[1] === "output" &&
      r.path.length === 2 &&
      (target.output?.format ?? "text") === "text"
    )
      push(
        ctx,
        path,
        `${where} for_each: step "${target.id}" replies with text, not a list; use output.format: json`,
        "for-each"
      )
  }
}
