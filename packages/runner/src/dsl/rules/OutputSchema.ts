/** `output.schema` needs `output.format: json` and must itself be a valid JSON Schema. */
import { Ajv } from "ajv"
import type { Diagnostic } from "../Diagnostics.ts"
import { at, eachStep, type Rule } from "./Rule.ts"

export const outputSchema: Rule = (ctx) =>
  eachStep(ctx, (s, base, where) => {
    const schema = s.output?.schema
    if (schema === undefined) return []
    const path = [...base, "output", "schema"]
    const out: Diagnostic[] = []
    if (s.output?.format !== "json")
      out.push(at(ctx, path, `${where}: output.schema needs output.format: json`, "output-schema", "key"))
    try {
      new Ajv({ strict: false }).compile(schema)
    } catch (e) {
      out.push(
        at(
          ctx,
          path,
          `${where}: output.schema is not a valid JSON Schema: ${(e as Error).message}`,
          "output-schema"
        )
      )
    }
    return out
  })
