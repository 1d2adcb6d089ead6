/** ajv against schemas/pipeline.schema.json, its errors mapped to `file:line:col`. */

import { fileURLToPath } from "node:url"
import * as SyncFiles from "@tollgate/core/SyncFiles"
import * as Catalog from "@tollgate/pricing/Catalog"
import { Ajv, type ErrorObject } from "ajv"
import type { Diagnostic } from "./Diagnostics.ts"
import { type Loaded, locate, nodeAt, type Path, positionAt } from "./Load.ts"
import { pruned } from "./Prune.ts"

export const SCHEMA_PATH = fileURLToPath(new URL("../../schemas/pipeline.schema.json", import.meta.url))

let validator: ReturnType<Ajv["compile"]> | undefined
const compiled = () => {
  // markdownDescription, defaultSnippets, patternErrorMessage: what editors show, complete and say
  // of a value a pattern refuses (annotations, not rules; ours say the same)
  validator ??= new Ajv({ allErrors: true, strict: true, verbose: true, allowUnionTypes: true })
    .addKeyword("markdownDescription")
    .addKeyword("defaultSnippets")
    .addKeyword("patternErrorMessage")
    .compile(JSON.parse(SyncFiles.readBytes(SCHEMA_PATH).toString("utf8")))
  return validator
}

const toPath = (pointer: string): Path =>
  pointer === ""
    ? []
    : pointer
        .slice(1)
        .split("/")
        .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
        .map((s) => (/^\d+$/.test(s) ? Number(s) : s))

/** `steps[summarize].max_tokens`: the path in words, steps named by id where they have one. */
export const describePath = (value: unknown, path: Path): string => {
  if (path.length === 0) return "the pipeline"
  let out = ""
  let cur: unknown = value
  path.forEach((seg, i) => {
    const next = (cur as Record<string | number, unknown> | undefined)?.[seg]
    if (typeof seg === "number") {
      const id = (next as { id?: unknown } | undefined)?.id
      out += path[i - 1] === "steps" && typeof id === "string" ? `[${id}]` : `[${seg}]`
    } else out += out === "" ? seg : `.${seg}`
    cur = next
  })
  return out
}

const describeBranches = (schema: unknown): string => {
  const branches =
    (schema as { oneOf?: Array<{ const?: unknown; type?: string; items?: { type?: string } }> }).oneOf ?? []
  if (branches.every((b) => "const" in b))
    return `expected one of ${branches.map((b) => JSON.stringify(b.const)).join(", ")}`
  return `expected ${branches
    .map((b) => (b.type === "array" ? `a list of ${b.items?.type ?? "value"}s` : `a ${b.type ?? "value"}`))
    .join(" or ")}`
}

/** A value its pattern refuses: in the schema's own words (`patternErrorMessage`, as editors show it), else the pattern. */
const patternMessage = (e: ErrorObject, where: string): string => {
  const said = (e.parentSchema as { patternErrorMessage?: string } | undefined)?.patternErrorMessage
  return said === undefined
    ? `${where} ${JSON.stringify(e.data)} does not match ${(e.params as { pattern: string }).pattern}`
    : `${where} ${JSON.stringify(e.data)}: expected ${said}`
}

const messageOf = (
  e: ErrorObject,
  where: string
): { message: string; rule: string; mode: "value" | "key" } => {
  switch (e.keyword) {
    case "additionalProperties": {
      const key = (e.params as { additionalProperty: string }).additionalProperty
      if (e.instancePath.endsWith("/params") && Object.hasOwn(ROUTING_KEYS, key))
        return {
          message: `${where}.${key} ${ROUTING_KEYS[key]}; the plan could not price it, so it is refused`,
          rule: "params-routing",
          mode: "key"
        }
      const allowed = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {})
      const alias = KNOWN_ALIASES[key]
      const near =
        alias !== undefined && allowed.includes(alias)
          ? [alias]
          : allowed.filter((a) => editDistance(a, key) <= 2)
      const hint =
        near.length > 0
          ? `; did you mean "${near[0]}"?`
          : allowed.length > 0
            ? `; expected one of ${allowed.join(", ")}`
            : ""
      return {
        message: `unknown key "${key}" in ${where}${hint}`,
        rule: "unknown-key",
        mode: "key"
      }
    }
    case "required":
      return {
        message: `${where} is missing the required key "${(e.params as { missingProperty: string }).missingProperty}"`,
        rule: "missing-key",
        mode: "key"
      }
    case "oneOf":
      return {
        message: `${where}: ${describeBranches(e.schema === true ? {} : e.parentSchema)}`,
        rule: "schema",
        mode: "value"
      }
    case "minItems":
      return {
        message: `${where} must have at least ${(e.params as { limit: number }).limit} item${(e.params as { limit: number }).limit === 1 ? "" : "s"}`,
        rule: "schema",
        mode: "value"
      }
    case "minLength":
      return { message: `${where} must not be empty`, rule: "schema", mode: "value" }
    case "const":
      return {
        message: `${where} must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`,
        rule: "schema",
        mode: "value"
      }
    case "type":
      return {
        message: `${where} must be ${withArticle(String((e.params as { type: string }).type))}`,
        rule: "type",
        mode: "value"
      }
    case "pattern":
      return { message: patternMessage(e, where), rule: "schema", mode: "value" }
    default:
      return { message: `${where} ${e.message ?? "is invalid"}`, rule: "schema", mode: "value" }
  }
}

const { editDistance } = Catalog

/** Request-body keys that change which model answers or what a request may cost: never in `params`. */
const ROUTING_KEYS: Readonly<Record<string, string>> = {
  model: 'picks the model; set the step\'s "model"',
  models: 'is a fallback list; give the step\'s "model" as a list',
  provider: "routes to providers at their prices",
  plugins: "adds paid plugins (web search, file parsing)",
  route: "changes how the request is routed",
  transforms: "changes the prompt that is billed",
  max_tokens: 'bounds the completion; set the step\'s "max_tokens"',
  max_completion_tokens: 'bounds the completion; set the step\'s "max_tokens"',
  messages: 'is the prompt; use "prompt" or "messages" on the step',
  prompt: 'is the prompt; use "prompt" on the step',
  n: "asks for several completions, each billed",
  stream: "changes how the reply (and its usage) arrives",
  usage: "is set by Tollgate",
  response_format: 'is set from the step\'s "output"',
  tools: "adds tool definitions to the billed prompt",
  tool_choice: "goes with tools",
  web_search_options: "adds paid web searches",
  prediction: "adds billed predicted output"
}

/** Keys other pipeline tools use, and ours for the same thing (before any spelling guess). */
const KNOWN_ALIASES: Readonly<Record<string, string>> = {
  if: "when",
  condition: "when",
  depends_on: "needs",
  dependsOn: "needs",
  foreach: "for_each",
  forEach: "for_each",
  loop: "for_each",
  maxTokens: "max_tokens",
  max_completion_tokens: "max_tokens",
  env: "inputs"
}

const withArticle = (type: string) =>
  type === "array"
    ? "a list"
    : type === "object"
      ? "a mapping"
      : type === "integer"
        ? "a whole number"
        : `a ${type}`

export interface SchemaResult {
  readonly diagnostics: Diagnostic[]
  /** The document without the properties in error (for the semantic checks); undefined when that cannot be made. */
  readonly rest: unknown
  /**
   * The lines of each object (below the document) that lost a property: what the semantic checks
   * say there may only be the removal's echo, so they are not shown.
   */
  readonly shadowed: ReadonlyArray<readonly [number, number]>
}

/** The property an error is about: an unknown key itself, else the property holding the bad value (a list whole). */
const propertyOf = (e: ErrorObject): Path => {
  const path = [...toPath(e.instancePath)]
  if (e.keyword === "additionalProperties")
    return [...path, (e.params as { additionalProperty: string }).additionalProperty]
  while (typeof path.at(-1) === "number") path.pop()
  return path
}

/** The first and last line of the node at `path`. */
const linesOf = (loaded: Loaded, path: Path): readonly [number, number] => {
  const range = nodeAt(loaded, path).node?.range
  return range ? [positionAt(loaded, range[0]).line, positionAt(loaded, range[2]).line] : [0, 0]
}

/** Validates the loaded document against the schema; every error, mapped to its position. */
export const checkSchema = (loaded: Loaded): SchemaResult => {
  const validate = compiled()
  if (validate(loaded.value)) return { diagnostics: [], rest: loaded.value, shadowed: [] }
  const errors = validate.errors ?? []
  // Errors inside a oneOf branch are noise: the oneOf error itself says what was expected.
  const kept = errors.filter((e) => e.keyword === "oneOf" || !e.schemaPath.includes("/oneOf/"))
  const refused = kept.map((e) => (e.keyword === "required" ? undefined : propertyOf(e)))
  // the object that lost a property (a step; not the whole document) says nothing more: a missing
  // max_tokens after a misspelled one would only echo it
  const shadowed = kept
    .filter((e) => e.keyword !== "required")
    .map((e) => propertyOf(e).slice(0, -1))
    .filter((parent) => parent.length > 0)
    .map((parent) => linesOf(loaded, parent))
  return { diagnostics: kept.map(diagnosticOf(loaded)), rest: pruned(loaded.value, refused), shadowed }
}

const diagnosticOf =
  (loaded: Loaded) =>
  (e: ErrorObject): Diagnostic => {
    const path = toPath(e.instancePath)
    const where = describePath(loaded.value, path)
    const { message, rule, mode } = messageOf(e, where)
    const target: Path =
      e.keyword === "additionalProperties"
        ? [...path, (e.params as { additionalProperty: string }).additionalProperty]
        : path
    const pos = locate(loaded, target, e.keyword === "required" ? "key" : mode)
    return { file: loaded.file, line: pos.line, col: pos.col, message, rule }
  }
