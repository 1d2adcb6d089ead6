/**
 * The document without the parts the schema refused, so the semantic checks can still look at
 * the rest and `validate` reports every problem at once. Only object properties are removed (a
 * bad list element takes its list with it, chosen by the caller); a refusal that removing one
 * cannot answer (a missing field, the document itself) leaves nothing to check. Pure: the input
 * is not changed.
 */
import type { Path } from "./Load.ts"

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v)

/** `value` with the property at each path removed, or undefined when one is not a property (or not a path). */
export const pruned = (value: unknown, paths: ReadonlyArray<Path | undefined>): unknown => {
  const copy: unknown = structuredClone(value)
  for (const path of paths) {
    const key = path?.at(-1)
    if (typeof key !== "string") return undefined
    let parent: unknown = copy
    for (const seg of path!.slice(0, -1))
      parent = (parent as Record<string | number, unknown> | undefined)?.[seg]
    if (!isObject(parent)) return undefined
    delete parent[key]
  }
  return copy
}
