import { render, renderFast } from "@tollgate/runner/dsl/Templates"
import fc from "fast-check"
import { describe, expect, it } from "vitest"

/** What rendering gives: the text, or the error's message. */
const outcome = (f: () => string): { ok: string } | { error: string } => {
  try {
    return { ok: f() }
  } catch (e) {
    return { error: (e as Error).message }
  }
}

const value = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.constantFrom(null, true, Number.NaN, -0, 1e21),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.record({ size: fc.string(), first: fc.integer() })
)
const scope = fc.record({
  item: fc.record(
    { text: value, n: value, size: value, nested: fc.record({ deep: value }) },
    { requiredKeys: [] }
  ),
  index: fc.integer(),
  inputs: fc.record({ name: value })
})
const output = fc.constantFrom(
  "{{ item.text }}",
  "{{item.n}}",
  "{{ index }}",
  "{{ item.nested.deep }}",
  "{{ item.size }}",
  "{{ item.text.size }}",
  "{{ item.missing }}",
  "{{ inputs.name }}",
  "{{ item.text | upcase }}",
  "{{- item.text -}}",
  "{{ item.constructor }}",
  "{% if item.n %}yes{% endif %}",
  "{{ empty.text }}",
  "{{ true }}",
  "{{ nil }}"
)
const literal = fc.oneof(fc.string(), fc.constantFrom("{{", "}}", "{%", "%}", "{", "}", " {{ unclosed", "\n"))
const template = fc.array(fc.oneof(output, literal), { maxLength: 6 }).map((parts) => parts.join(""))

describe("renderFast", () => {
  it("property: renders as liquidjs does, or fails with its error, for any template and scope", () => {
    fc.assert(
      fc.property(template, scope, (t, s) => {
        expect(outcome(() => renderFast(t, s))).toEqual(outcome(() => render(t, s)))
      }),
      { numRuns: 3000 }
    )
  })

  it("puts a plain template together itself, the same text liquidjs gives", () => {
    const s = { item: { text: "a <b> & 'c'", n: 3.5 }, index: 7 }
    expect(renderFast("Say {{ item.text }} ({{item.n}}) #{{ index }}", s)).toBe("Say a <b> & 'c' (3.5) #7")
    expect(render("Say {{ item.text }} ({{item.n}}) #{{ index }}", s)).toBe("Say a <b> & 'c' (3.5) #7")
  })
})
