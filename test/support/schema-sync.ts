/**
 * Keeps the pipeline schema's editor help in step: every `description` is also given as
 * `markdownDescription` (editors render it), and model ids complete from the bundled catalog
 * (as `defaultSnippets`: any string stays allowed, and a hover stays short). `node test/support/schema-sync.ts` rewrites the schema;
 * a test fails when it is out of step.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { CatalogStore } from "@tollgate/core"

export const SCHEMA = fileURLToPath(
  new URL("../../packages/runner/schemas/pipeline.schema.json", import.meta.url)
)

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

const withMarkdown = (o: Json): Json => {
  if (Array.isArray(o)) return o.map(withMarkdown)
  if (o === null || typeof o !== "object") return o
  const out: { [k: string]: Json } = {}
  for (const [k, v] of Object.entries(o)) if (k !== "markdownDescription") out[k] = withMarkdown(v)
  if (typeof o.description === "string") out.markdownDescription = o.description
  return out
}

/**
 * Model ids an editor offers as completions (`defaultSnippets`, which the YAML and JSON language
 * servers complete from), without restricting the value (a model of another endpoint is priced
 * under `pricing:`) and without a hover that lists them all, as `examples` or an `enum` would.
 */
const completing = (branch: { [k: string]: Json }, ids: string[]): Json => {
  const { examples: _examples, anyOf: _anyOf, defaultSnippets: _snippets, ...rest } = branch
  return { ...rest, defaultSnippets: ids.map((id) => ({ label: id, body: id })) }
}

const withModelIds = (o: Json, ids: string[]): Json => {
  if (Array.isArray(o)) return o.map((v) => withModelIds(v, ids))
  if (o === null || typeof o !== "object") return o
  const out: { [k: string]: Json } = {}
  for (const [k, v] of Object.entries(o)) {
    if (k === "model" && v !== null && typeof v === "object" && !Array.isArray(v) && Array.isArray(v.oneOf))
      out[k] = {
        ...v,
        oneOf: v.oneOf.map((b) =>
          b !== null && typeof b === "object" && !Array.isArray(b) && b.type === "string"
            ? completing(b, ids)
            : b !== null && typeof b === "object" && !Array.isArray(b) && b.type === "array"
              ? { ...b, items: completing(b.items as { [k: string]: Json }, ids) }
              : b
        )
      }
    else out[k] = withModelIds(v, ids)
  }
  return out
}

/** The schema as it should be. */
export const synced = (): string => {
  const ids = CatalogStore.bundled()
    .models.filter((m) => !m.unknownPrice)
    .map((m) => m.id)
    .sort()
  const schema = JSON.parse(readFileSync(SCHEMA, "utf8")) as Json
  return `${JSON.stringify(withMarkdown(withModelIds(schema, ids)), null, 2)}\n`
}

if (import.meta.url === `file://${process.argv[1]}`) writeFileSync(SCHEMA, synced())
