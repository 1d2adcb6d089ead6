/** `output.schema` needs `output.format: json` and must itself be a valid JSON Schema. */
import { Ajv } from "ajv"
import type { Diagnostic } from "../Diagnostics.ts"
import { at, eachStep, type Rule } from "./Rule.ts"

/** Values of every JSON type, nested a little: checking them finds a schema that never ends. */
const SAMPLES: ReadonlyArray<unknown> = [{}, { a: [1] }, [], [{}], "x", 0, 1.5, true, null]

export const outputSchema: Rule = (ctx) =>
  eachStep(ctx, (s, base, where) => {
    const schema = s.output?.schema
    if (schema === undefined) return []
    const path = [...base, "output", "schema"]
    const out: Diagnostic[] = []
    if (s.output?.format !== "json")
      out.push(at(ctx, path, `${where}: output.schema needs output.format: json`, "output-schema", "key"))
    try {
      const validate = new Ajv({ strict: false }).compile(schema)
      // a schema that refers to itself without consuming data ($ref: '#') never ends on any value
      for (const sample of SAMPLES) validate(sample)
    } catch (e) {
      out.push(
        at(
          ctx,
          path,
          e instanceof RangeError
            ? `${where}: output.schema refers to itself without end (a $ref loop no reply can finish)`
            : `${where}: output.schema is not a valid JSON Schema: ${(e as Error).message}`,
          "output-schema"
        )
      )
    }
    return out
  })
