/** Load → schema → semantic checks → inputs: a pipeline proven well formed, or every diagnostic. */
import { isAbsolute, relative, resolve as resolvePath } from "node:path"
import type * as Catalog from "@tollgate/pricing/Catalog"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { type Diagnostic, sortUnique } from "./Diagnostics.ts"
import { type InputOverride, type ResolvedInputs, resolveInputs } from "./Inputs.ts"
import { type Loaded, loadFile, locate } from "./Load.ts"
import { type Pipeline, type ProviderKind, resolve } from "./Pipeline.ts"
import { decodePipelineSpec, type PipelineSpec } from "./PipelineSpec.ts"
import { checkSchema, type SchemaResult } from "./SchemaCheck.ts"
import { checkSemantics } from "./Semantics.ts"

export interface Validated {
  /** Absolute path of the pipeline file. */
  readonly path: string
  /** As shown in diagnostics (relative to the working dir). */
  readonly display: string
  readonly loaded: Loaded
  readonly spec: PipelineSpec
  readonly pipeline: Pipeline
  readonly inputs: ResolvedInputs
}

export interface ValidateOptions {
  readonly cwd: string
  readonly catalog: Catalog.Catalog
  readonly inputs?: ReadonlyArray<InputOverride>
  /** `--provider-kind`: overrides the pipeline's `provider.kind`. */
  readonly providerKind?: ProviderKind | undefined
}

export type ValidateResult =
  | {
      readonly ok: true
      readonly value: Validated
      readonly diagnostics: ReadonlyArray<Diagnostic>
      readonly sources: ReadonlyMap<string, string>
    }
  | {
      readonly ok: false
      readonly diagnostics: ReadonlyArray<Diagnostic>
      readonly sources: ReadonlyMap<string, string>
    }

const displayPath = (cwd: string, abs: string) => {
  const rel = relative(cwd, abs)
  return rel === "" || rel.startsWith("..") || isAbsolute(rel) ? abs : rel
}

/** Validates a pipeline file. Nothing is sent; nothing is written. */
export const validateFile = (file: string, opts: ValidateOptions) => {
  const path = resolvePath(opts.cwd, file)
  const display = displayPath(opts.cwd, path)
  return Effect.flatMap(loadFile(path, display), (load) => validateLoaded(path, display, load, opts))
}

type LoadResult = { readonly loaded: Loaded | undefined; readonly diagnostics: Diagnostic[] }

type Decoded = { readonly loaded: Loaded; readonly spec: PipelineSpec; readonly schema: SchemaResult }

/** The document checked against the schema and decoded; or why it cannot be. Pure. */
const decodeLoaded = (
  display: string,
  { loaded, diagnostics }: LoadResult,
  opts: ValidateOptions,
  sources: Map<string, string>
): Decoded | ValidateResult => {
  if (loaded === undefined) return { ok: false, diagnostics: sortUnique(diagnostics), sources }
  sources.set(display, loaded.source)
  const schema = checkSchema(loaded)
  const decoded = schema.rest === undefined ? undefined : decodePipelineSpec(schema.rest)
  if (decoded === undefined || Exit.isFailure(decoded)) {
    const refused =
      schema.diagnostics.length > 0 || decoded === undefined
        ? schema.diagnostics
        : [
            {
              file: display,
              line: 1,
              col: 1,
              message: `the pipeline does not decode: ${String(decoded.cause)}`,
              rule: "schema"
            }
          ]
    return { ok: false, diagnostics: sortUnique(refused), sources }
  }
  const kind = opts.providerKind
  const spec: PipelineSpec =
    kind === undefined ? decoded.value : { ...decoded.value, provider: { ...decoded.value.provider, kind } }
  return { loaded, spec, schema }
}

/** The semantic checks over the decoded pipeline and its inputs, with the schema's problems. Pure. */
const checked = (
  path: string,
  display: string,
  { loaded, spec, schema }: Decoded,
  inputs: ResolvedInputs,
  opts: ValidateOptions,
  sources: Map<string, string>
): ValidateResult => {
  // prices the pipeline declares (`pricing:`) price models the catalog lacks or cannot price
  const catalog = opts.catalog.withDeclared(spec.pricing ?? {})
  const semantic = checkSemantics(loaded, spec, catalog, inputs.values, inputs.rows)
  // with schema problems, the rest is checked too; a line the schema refused speaks once, and an
  // object that lost a value to the schema says nothing more
  const refusedLines = new Set(schema.diagnostics.map((d) => d.line))
  const rest = [...semantic, ...inputs.diagnostics].filter(
    (d) => !refusedLines.has(d.line) && !schema.shadowed.some(([from, to]) => d.line >= from && d.line <= to)
  )
  const all = sortUnique([...schema.diagnostics, ...rest])
  if (all.length > 0) return { ok: false, diagnostics: all, sources }
  return {
    ok: true,
    value: { path, display, loaded, spec, pipeline: resolve(spec), inputs },
    diagnostics: [],
    sources
  }
}

/** Validates a pipeline as loaded from `path`: its inputs' data files are read through `FileSystem`. */
const validateLoaded = Effect.fnUntraced(function* (
  path: string,
  display: string,
  load: LoadResult,
  opts: ValidateOptions
) {
  const sources = new Map<string, string>()
  const decoded = decodeLoaded(display, load, opts, sources)
  if ("ok" in decoded) return decoded
  const { loaded, spec } = decoded
  const inputs = yield* resolveInputs(spec.inputs ?? {}, path, opts.inputs ?? [], {
    cwd: opts.cwd,
    pipelineDisplay: display,
    locate: (name, field) =>
      locate(loaded, field ? ["inputs", name, field] : ["inputs", name], field ? "value" : "key")
  })
  return checked(path, display, decoded, inputs, opts, sources)
})
