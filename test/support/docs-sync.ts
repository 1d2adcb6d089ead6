/**
 * Keeps the pipeline reference (`packages/runner/docs/pipeline.md`, shipped with the package) true
 * to the schema: its "Every field" section lists each property of the schema with its description.
 * `node test/support/docs-sync.ts` rewrites that section; a test fails when it is out of step.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { SCHEMA } from "./schema-sync.ts"

export const DOCS = fileURLToPath(new URL("../../packages/runner/docs/pipeline.md", import.meta.url))

const START = "<!-- every field: generated from schemas/pipeline.schema.json by test/support/docs-sync.ts -->"
const END = "<!-- end of every field -->"

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }
type Obj = { [k: string]: Json }
const isObj = (v: Json | undefined): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v)

/** Each property path of the schema with its description, depth first, in the schema's order. */
export const fields = (schema: Obj, path = ""): Array<{ path: string; description: string }> => {
  const out: Array<{ path: string; description: string }> = []
  const visit = (node: Json | undefined, at: string) => {
    if (!isObj(node)) return
    if (isObj(node.properties))
      for (const [k, v] of Object.entries(node.properties)) {
        const p = at === "" ? k : `${at}.${k}`
        out.push({ path: p, description: isObj(v) && typeof v.description === "string" ? v.description : "" })
        visit(v, p)
      }
    if (isObj(node.additionalProperties)) visit(node.additionalProperties, `${at}.<name>`)
    if (isObj(node.items)) visit(node.items, `${at}[]`)
    for (const key of ["oneOf", "anyOf"] as const)
      if (Array.isArray(node[key])) for (const branch of node[key] as Json[]) visit(branch, at)
  }
  visit(schema, path)
  // a property reached through several branches is listed once
  return out.filter((f, i) => out.findIndex((g) => g.path === f.path) === i)
}

/** The reference as it should be. */
export const syncedDocs = (): string => {
  const text = readFileSync(DOCS, "utf8")
  const schema = JSON.parse(readFileSync(SCHEMA, "utf8")) as Obj
  const list = fields(schema)
    .map((f) => `- \`${f.path}\`${f.description !== "" ? ` — ${f.description.replace(/\s+/g, " ")}` : ""}`)
    .join("\n")
  const head = text.includes(START)
    ? text.slice(0, text.indexOf(START))
    : `${text.trimEnd()}\n\n## Every field\n\n`
  const tail = text.includes(END) ? text.slice(text.indexOf(END) + END.length) : "\n"
  return `${head}${START}\n\n${list}\n\n${END}${tail}`
}

if (import.meta.url === `file://${process.argv[1]}`) writeFileSync(DOCS, syncedDocs())
