/** The pipeline reference ships with the package and documents every field of the schema. */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { DOCS, fields, syncedDocs } from "./support/docs-sync.ts"
import { SCHEMA } from "./support/schema-sync.ts"

describe("docs/pipeline.md", () => {
  it("lists every property of the schema, with its description, as the schema has it now", () => {
    expect(readFileSync(DOCS, "utf8")).toBe(syncedDocs())
    const text = readFileSync(DOCS, "utf8")
    const all = fields(JSON.parse(readFileSync(SCHEMA, "utf8")))
    expect(all.length).toBeGreaterThan(100)
    for (const f of all) {
      expect(text, f.path).toContain(`\`${f.path}\``)
      expect(f.description, `${f.path} has no description in the schema`).not.toBe("")
    }
  })

  it("is in the package, and the schema points at it", () => {
    const pkg = JSON.parse(readFileSync(new URL("../packages/runner/package.json", import.meta.url), "utf8"))
    expect(pkg.files).toContain("docs")
    expect(JSON.parse(readFileSync(SCHEMA, "utf8")).description).toContain("docs/pipeline.md")
  })
})
