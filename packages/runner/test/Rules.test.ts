/** Each semantic rule on its own: what it reports, where, and that a well-formed pipeline passes it. */
import { CatalogStore } from "@tollgate/core"
import { loadText } from "@tollgate/runner/dsl/Load"
import { decodePipelineSpec, type StepSpec } from "@tollgate/runner/dsl/PipelineSpec"
import { cycles, needs } from "@tollgate/runner/dsl/rules/Dependencies"
import { forEachIsList } from "@tollgate/runner/dsl/rules/ForEach"
import { githubExpressions } from "@tollgate/runner/dsl/rules/Habits"
import { maxTokens, models } from "@tollgate/runner/dsl/rules/Models"
import { outputSchema } from "@tollgate/runner/dsl/rules/OutputSchema"
import { outputReferences, stepReferences } from "@tollgate/runner/dsl/rules/References"
import type { Rule, RuleContext } from "@tollgate/runner/dsl/rules/Rule"
import { duplicateSteps, forEachKeys, promptOrMessages } from "@tollgate/runner/dsl/rules/Steps"
import { RULES } from "@tollgate/runner/dsl/Semantics"
import { Exit } from "effect"
import { describe, expect, it } from "vitest"

const catalog = CatalogStore.bundled()

const ctxOf = (yaml: string, inputValues?: Record<string, unknown>): RuleContext => {
  const { loaded } = loadText(yaml, "p.yaml")
  if (loaded === undefined) throw new Error("test yaml does not parse")
  const decoded = decodePipelineSpec(loaded.value)
  if (Exit.isFailure(decoded)) throw new Error("test yaml does not decode")
  const spec = decoded.value
  const byId = new Map<string, StepSpec>()
  for (const s of spec.steps) if (!byId.has(s.id)) byId.set(s.id, s)
  return { loaded, spec, catalog, inputValues, byId }
}

/** `line:col: message [rule]` of what a rule reports. */
const check = (rule: Rule, yaml: string, inputValues?: Record<string, unknown>) =>
  rule(ctxOf(yaml, inputValues)).map((d) => `${d.line}:${d.col}: ${d.message} [${d.rule}]`)

const pipeline = (steps: string, head = "") => `version: 1\nname: t\n${head}steps:\n${steps}`
const OK = pipeline("  - { id: a, model: openai/gpt-4o-mini, max_tokens: 10, prompt: hi }\n")

describe("semantic rules", () => {
  it("a well-formed pipeline passes every rule", () => {
    for (const rule of RULES) expect(check(rule, OK)).toEqual([])
  })

  it("duplicateSteps: the second of two equal ids", () => {
    const yaml = pipeline(
      "  - { id: a, model: openai/gpt-4o-mini, max_tokens: 10, prompt: hi }\n  - { id: a, model: openai/gpt-4o-mini, max_tokens: 10, prompt: ho }\n"
    )
    expect(check(duplicateSteps, yaml)).toEqual(['5:11: duplicate step id "a" [duplicate-step]'])
  })

  it("models: unknown (with a suggestion), unpriced routers, and a step with none", () => {
    const yaml = pipeline(
      "  - { id: a, model: openai/gpt-4o-mimi, max_tokens: 10, prompt: hi }\n  - { id: b, model: openrouter/auto, max_tokens: 10, prompt: hi }\n  - { id: c, max_tokens: 10, prompt: hi }\n"
    )
    const found = check(models, yaml)
    expect(found[0]).toMatch(/^4:21: unknown model "openai\/gpt-4o-mimi"; did you mean "openai\/gpt-4o-mini"/)
    expect(found[1]).toMatch(
      /^5:21: model "openrouter\/auto" has no known price, so no cost bound exists: give it under pricing:/
    )
    expect(found[2]).toBe(
      '6:7: step "c" has no model: set "model" on the step or in defaults [missing-model]'
    )
  })

  it("maxTokens: missing, and beyond what the model can produce", () => {
    const yaml = pipeline(
      "  - { id: a, model: openai/gpt-4o-mini, prompt: hi }\n  - { id: b, model: openai/gpt-4o-mini, max_tokens: 20000, prompt: hi }\n"
    )
    expect(check(maxTokens, yaml)).toEqual([
      '4:7: step "a" has no max_tokens: without it no cost bound exists; set it on the step or in defaults [max-tokens]',
      '5:53: step "b": max_tokens 20000 exceeds what "openai/gpt-4o-mini" can produce (16384 completion tokens) [max-tokens]'
    ])
  })

  it("promptOrMessages: both, neither, and system beside messages", () => {
    const yaml = pipeline(
      "  - { id: a, model: m, max_tokens: 1, prompt: hi, messages: [{ role: user, content: x }] }\n  - { id: b, model: m, max_tokens: 1 }\n"
    )
    expect(check(promptOrMessages, yaml)).toEqual([
      '4:51: step "a" has both "prompt" and "messages"; use one [prompt-or-messages]',
      '5:7: step "b" has neither "prompt" nor "messages" [prompt-or-messages]'
    ])
  })

  it("forEachKeys: as, max_items and pack need for_each", () => {
    const yaml = pipeline(
      "  - { id: a, model: m, max_tokens: 1, prompt: hi, as: row, max_items: 3, pack: 5 }\n"
    )
    expect(check(forEachKeys, yaml).map((d) => d.split(" [")[1])).toEqual([
      "for-each]",
      "for-each]",
      "for-each]"
    ])
    expect(check(forEachKeys, yaml)[2]).toMatch(/^4:74: step "a": "pack" sends several items/)
  })

  it("outputSchema: needs format json, and must compile", () => {
    const yaml = pipeline(
      "  - id: a\n    model: m\n    max_tokens: 1\n    prompt: hi\n    output: { schema: { type: bogus } }\n"
    )
    const found = check(outputSchema, yaml)
    expect(found[0]).toBe('8:15: step "a": output.schema needs output.format: json [output-schema]')
    expect(found[1]).toMatch(/^8:23: step "a": output.schema is not a valid JSON Schema/)
  })

  it("stepReferences: unknown inputs, steps and variables, the wrong kind of output, a step reading itself, syntax", () => {
    const yaml = pipeline(
      '  - { id: a, model: m, max_tokens: 1, prompt: "{{ inputs.nope }} {{ steps.zz.output }} {{ who }}" }\n' +
        '  - { id: b, model: m, max_tokens: 1, prompt: "{{ steps.a.outputs }} {{ steps.b.output }}" }\n' +
        '  - { id: c, model: m, max_tokens: 1, prompt: "{% if %}" }\n',
      "inputs:\n  topic: { type: string, default: x }\n"
    )
    expect(check(stepReferences, yaml).map((d) => d.replace(/: .*\[/, " ["))).toEqual([
      "6:51 [unknown-input]",
      "6:69 [unknown-step]",
      "6:91 [unknown-variable]",
      "7:51 [output-kind]",
      "7:73 [cycle]",
      "8:53 [template-syntax]"
    ])
  })

  it("outputReferences: a pipeline output reading an unknown step", () => {
    const yaml = `${OK}outputs:\n  x: "{{ steps.nope.output }}"\n`
    expect(check(outputReferences, yaml)).toEqual([
      '6:10: output "x" refers to unknown step "nope"; steps: a [unknown-step]'
    ])
  })

  it("forEachIsList: over an input that is not a list, and over a text step's reply", () => {
    const yaml = pipeline(
      '  - { id: a, model: m, max_tokens: 1, prompt: hi }\n  - { id: b, for_each: inputs.n, model: m, max_tokens: 1, prompt: "{{ item }}" }\n  - { id: c, for_each: steps.a.output, model: m, max_tokens: 1, prompt: "{{ item }}" }\n',
      "inputs:\n  n: { type: number, default: 3 }\n"
    )
    expect(check(forEachIsList, yaml, { n: 3 })).toEqual([
      '7:24: step "b" for_each: "inputs.n" is number, not a list [for-each]',
      '8:24: step "c" for_each: step "a" replies with text, not a list; use output.format: json [for-each]'
    ])
  })

  it("needs: itself and unknown steps; cycles: through references and needs", () => {
    const yaml = pipeline(
      '  - { id: a, model: m, max_tokens: 1, prompt: "{{ steps.b.output }}", needs: [a, zz] }\n  - { id: b, model: m, max_tokens: 1, prompt: "{{ steps.a.output }}" }\n'
    )
    expect(check(needs, yaml).map((d) => d.split(" [")[1])).toEqual(["cycle]", "unknown-step]"])
    expect(check(cycles, yaml)).toEqual(["4:11: steps form a cycle: a -> b -> a [cycle]"])
  })

  it("githubExpressions: a GitHub Actions expression in a prompt points at the $ and suggests {{ }}", () => {
    const gha = "$" + "{{ inputs.t }}"
    const yaml = pipeline(`  - { id: a, model: m, max_tokens: 1, prompt: "about ${gha}" }\n`)
    expect(check(githubExpressions, yaml)).toEqual([
      `4:54: "${gha}" is GitHub Actions syntax and would send "$" plus the value; write "{{ inputs.t }}" [github-expression]`
    ])
  })
})
