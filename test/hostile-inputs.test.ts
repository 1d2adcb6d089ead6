/**
 * Bad input, as a hostile or careless user would give it: every case exits with the right code,
 * says what is wrong in one line per problem (file:line:col for the pipeline and its data), never
 * a stack trace, and sends nothing (one simulator watches every case).
 */

import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runCli, tempHome } from "./support/cli.ts"
import { writeDir } from "./support/pipelines.ts"
import { type Simulator, startSimulator } from "./support/simulator.ts"

let sim: Simulator
beforeAll(async () => {
  sim = await startSimulator()
})
afterAll(async () => {
  expect(sim.log).toHaveLength(0) // nothing was sent, by any case
  await sim.close()
})

const DIAGNOSTIC = /^[^\s:][^:]*:\d+:\d+: \S.* \[[a-z-]+\]$/
const SUMMARY = /^\d+ problems?; nothing was sent$/

/** Every stderr line is a diagnostic, the summary or one `error:` line; no stack, no internal error. */
const clean = (stderr: string) => {
  const lines = stderr.trimEnd().split("\n")
  expect(stderr).not.toMatch(/internal error|\n\s+at |Error: /)
  for (const l of lines)
    expect(l, stderr).toMatch(new RegExp(`${DIAGNOSTIC.source}|${SUMMARY.source}|^error: \\S`))
  return lines
}

const write = (files: Record<string, string>) => writeDir(files, "tg-hostile-")

const STEP = "  - { id: a, model: openai/gpt-4o-mini, max_tokens: 10, prompt: hi }\n"
const head = (extra = "") => `version: 1\nname: t\n${extra}`
/** A pipeline with `top` keys before `steps`, and `step` fields on its one step. */
const withStep = (step: string, top = "") =>
  `${head(top)}steps:\n  - { id: a, model: openai/gpt-4o-mini, max_tokens: 10, prompt: hi, ${step} }\n`
const withSteps = (steps: string, top = "") => `${head(top)}steps:\n${steps}`

const PIPELINES: ReadonlyArray<readonly [string, string]> = [
  // the document
  ["empty file", ""],
  ["a scalar", "hello\n"],
  ["a list at the root", "- a\n- b\n"],
  ["tab indentation", "version: 1\nname: t\nsteps:\n\t- id: a\n"],
  ["duplicate key", "version: 1\nversion: 1\nname: t\nsteps: []\n"],
  ["unclosed quote", 'version: 1\nname: "t\nsteps: []\n'],
  [
    "alias bomb",
    `a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\nversion: 1\nname: t\nsteps: []\n`
  ],
  ["deep nesting", `version: 1\nname: t\nsteps: []\nx: ${"[".repeat(80)}${"]".repeat(80)}\n`],
  ["binary garbage", "\u0000\u0001\u0002 {{{{ ::: \n"],
  // version, name, steps
  ["version 0", "version: 0\nname: t\nsteps:\n" + STEP],
  ["version 2", "version: 2\nname: t\nsteps:\n" + STEP],
  ['version "1"', 'version: "1"\nname: t\nsteps:\n' + STEP],
  ["version null", "version: null\nname: t\nsteps:\n" + STEP],
  ["no name", "version: 1\nsteps:\n" + STEP],
  ["empty name", 'version: 1\nname: ""\nsteps:\n' + STEP],
  ["name a number", "version: 1\nname: 5\nsteps:\n" + STEP],
  ["name a list", "version: 1\nname: [a]\nsteps:\n" + STEP],
  ["no steps", head()],
  ["empty steps", `${head()}steps: []\n`],
  ["steps a mapping", `${head()}steps: { a: 1 }\n`],
  ["a step that is a string", `${head()}steps:\n  - hello\n`],
  ["a step without id", `${head()}steps:\n  - { model: openai/gpt-4o-mini, max_tokens: 10, prompt: hi }\n`],
  [
    "an id with capitals",
    withSteps("  - { id: Big, model: openai/gpt-4o-mini, max_tokens: 10, prompt: hi }\n")
  ],
  [
    "an id with a space",
    withSteps('  - { id: "a b", model: openai/gpt-4o-mini, max_tokens: 10, prompt: hi }\n')
  ],
  [
    "an id starting with a digit",
    withSteps("  - { id: 1a, model: openai/gpt-4o-mini, max_tokens: 10, prompt: hi }\n")
  ],
  ["duplicate step ids", withSteps(STEP + STEP)],
  ["an unknown top-level key", `${head("bogus: 1\n")}steps:\n${STEP}`],
  ["if: on a step", withStep("if: inputs.x")],
  ["depends_on: on a step", withStep("depends_on: [b]")],
  // models and max_tokens
  [
    "an unknown model",
    withSteps("  - { id: a, model: openai/gpt-5-ultra-max, max_tokens: 10, prompt: hi }\n")
  ],
  [
    "a router with no price",
    withSteps("  - { id: a, model: openrouter/auto, max_tokens: 10, prompt: hi }\n")
  ],
  ["an empty model", withSteps('  - { id: a, model: "", max_tokens: 10, prompt: hi }\n')],
  ["a model that is a number", withSteps("  - { id: a, model: 4, max_tokens: 10, prompt: hi }\n")],
  [
    "a fallback list with an unknown model",
    withSteps("  - { id: a, model: [openai/gpt-4o-mini, nope/nope], max_tokens: 10, prompt: hi }\n")
  ],
  ["an empty fallback list", withSteps("  - { id: a, model: [], max_tokens: 10, prompt: hi }\n")],
  ["no model at all", withSteps("  - { id: a, max_tokens: 10, prompt: hi }\n")],
  ["no max_tokens", withSteps("  - { id: a, model: openai/gpt-4o-mini, prompt: hi }\n")],
  ["max_tokens 0", withSteps("  - { id: a, model: openai/gpt-4o-mini, max_tokens: 0, prompt: hi }\n")],
  [
    "max_tokens negative",
    withSteps("  - { id: a, model: openai/gpt-4o-mini, max_tokens: -5, prompt: hi }\n")
  ],
  [
    "max_tokens fractional",
    withSteps("  - { id: a, model: openai/gpt-4o-mini, max_tokens: 1.5, prompt: hi }\n")
  ],
  [
    "max_tokens a string",
    withSteps('  - { id: a, model: openai/gpt-4o-mini, max_tokens: "10", prompt: hi }\n')
  ],
  [
    "max_tokens beyond the model",
    withSteps("  - { id: a, model: openai/gpt-4o-mini, max_tokens: 999999, prompt: hi }\n")
  ],
  ["temperature a string", withStep("temperature: hot")],
  ["top_p a string", withStep("top_p: all")],
  // prompts and messages
  ["prompt and messages", withStep("messages: [{ role: user, content: x }]")],
  ["neither prompt nor messages", withSteps("  - { id: a, model: openai/gpt-4o-mini, max_tokens: 10 }\n")],
  [
    "a message with a bad role",
    withSteps(
      "  - { id: a, model: openai/gpt-4o-mini, max_tokens: 10, messages: [{ role: god, content: x }] }\n"
    )
  ],
  [
    "a message whose content is a number",
    withSteps(
      "  - { id: a, model: openai/gpt-4o-mini, max_tokens: 10, messages: [{ role: user, content: 5 }] }\n"
    )
  ],
  [
    "system beside messages",
    withSteps(
      "  - { id: a, model: openai/gpt-4o-mini, max_tokens: 10, system: s, messages: [{ role: user, content: x }] }\n"
    )
  ],
  // templates
  ...[
    ["an unknown input", "{{ inputs.nope }}"],
    ["an unknown step", "{{ steps.zz.output }}"],
    ["an unknown variable", "{{ who }}"],
    ["an unclosed tag", "{% if inputs.x %}open"],
    ["an unclosed output", "{{ inputs.x"],
    ["an unknown filter", "{{ 'x' | bogus }}"],
    ["its own output", "{{ steps.a.output }}"],
    ["{% render %}", "{% render '.env' %}"],
    ["{% include %}", "{% include 'secret.json' %}"],
    ["{% layout %}", "{% layout 'base' %}"],
    ["a GitHub Actions expression", `$${"{{"} inputs.x }}`],
    ["an unknown tag", "{% exec 'ls' %}"]
  ].map(
    ([what, prompt]) =>
      [
        `a prompt with ${what}`,
        withSteps(
          `  - { id: a, model: openai/gpt-4o-mini, max_tokens: 10, prompt: ${JSON.stringify(prompt)} }\n`,
          "inputs:\n  x: { type: string, default: y }\n"
        )
      ] as const
  ),
  [
    "outputs of a one-request step",
    withSteps(
      `${STEP}  - { id: b, model: openai/gpt-4o-mini, max_tokens: 10, prompt: "{{ steps.a.outputs }}" }\n`
    )
  ],
  [
    "output of a fan-out step",
    withSteps(
      `  - { id: a, for_each: inputs.xs, model: openai/gpt-4o-mini, max_tokens: 10, prompt: "{{ item }}" }\n  - { id: b, model: openai/gpt-4o-mini, max_tokens: 10, prompt: "{{ steps.a.output }}" }\n`,
      "inputs:\n  xs: { type: array, default: [1] }\n"
    )
  ],
  // expressions
  ...[
    "inputs.flag ==",
    "== inputs.flag",
    "inputs.flag inputs.flag",
    "and",
    "inputs.flag and",
    "(",
    "inputs.flag | bogus",
    "not",
    "inputs.nope",
    "steps.zz.output"
  ].map(
    (when) =>
      [
        `when: ${when}`,
        withStep(`when: ${JSON.stringify(when)}`, "inputs:\n  flag: { type: boolean, default: true }\n")
      ] as const
  ),
  ...["inputs.xs ==", "inputs.xs inputs.xs", "inputs.n", "inputs.nope"].map(
    (fe) =>
      [
        `for_each: ${fe}`,
        withSteps(
          `  - { id: a, for_each: ${JSON.stringify(fe)}, model: openai/gpt-4o-mini, max_tokens: 10, prompt: "{{ item }}" }\n`,
          "inputs:\n  xs: { type: array, default: [1] }\n  n: { type: number, default: 3 }\n"
        )
      ] as const
  ),
  [
    "for_each over a text step",
    withSteps(
      `${STEP}  - { id: b, for_each: steps.a.output, model: openai/gpt-4o-mini, max_tokens: 10, prompt: "{{ item }}" }\n`
    )
  ],
  ["as without for_each", withStep("as: row")],
  ["max_items without for_each", withStep("max_items: 3")],
  [
    "max_items negative",
    withSteps(
      '  - { id: a, for_each: inputs.xs, max_items: -1, model: openai/gpt-4o-mini, max_tokens: 10, prompt: "{{ item }}" }\n',
      "inputs:\n  xs: { type: array, default: [1] }\n"
    )
  ],
  [
    "a bad loop variable name",
    withSteps(
      '  - { id: a, for_each: inputs.xs, as: "My Row", model: openai/gpt-4o-mini, max_tokens: 10, prompt: "{{ item }}" }\n',
      "inputs:\n  xs: { type: array, default: [1] }\n"
    )
  ],
  // needs and cycles
  ["needs itself", withStep("needs: [a]")],
  ["needs an unknown step", withStep("needs: [zz]")],
  [
    "a cycle of two",
    withSteps(
      `  - { id: a, model: openai/gpt-4o-mini, max_tokens: 10, prompt: "{{ steps.b.output }}" }\n  - { id: b, model: openai/gpt-4o-mini, max_tokens: 10, prompt: "{{ steps.a.output }}" }\n`
    )
  ],
  [
    "a cycle of three through needs",
    withSteps(
      `  - { id: a, model: openai/gpt-4o-mini, max_tokens: 10, prompt: hi, needs: [c] }\n  - { id: b, model: openai/gpt-4o-mini, max_tokens: 10, prompt: hi, needs: [a] }\n  - { id: c, model: openai/gpt-4o-mini, max_tokens: 10, prompt: hi, needs: [b] }\n`
    )
  ],
  // params: routing and billing keys, and unknown ones
  ...[
    "model: x",
    "models: [openai/o1-pro]",
    "provider: { order: [openai] }",
    "plugins: [{ id: web }]",
    "route: fallback",
    "transforms: [middle-out]",
    "max_tokens: 9999",
    "max_completion_tokens: 9999",
    "n: 5",
    "stream: true",
    "tools: []",
    "tool_choice: auto",
    "web_search_options: {}",
    "usage: { include: false }",
    "messages: []",
    "response_format: { type: text }",
    "prediction: {}",
    "bogus: 1",
    "seed: lots"
  ].map((p) => [`params { ${p} }`, withStep(`params: { ${p} }`)] as const),
  // the provider
  ...[
    "file:///etc",
    "ftp://example.com",
    "javascript:alert(1)",
    '"https://exa mple.com"',
    '""',
    "https://user:pass@example.com/api",
    "gopher://x"
  ].map((u) => [`base_url ${u}`, `${head(`provider: { base_url: ${u} }\n`)}steps:\n${STEP}`] as const),
  ["api_key_env with a dash", `${head("provider: { api_key_env: MY-KEY }\n")}steps:\n${STEP}`],
  ["api_key_env a number", `${head("provider: { api_key_env: 5 }\n")}steps:\n${STEP}`],
  [
    "api_key_env naming another secret",
    `${head("provider: { api_key_env: GITHUB_TOKEN }\n")}steps:\n${STEP}`
  ],
  [
    "api_key_env naming a cloud secret",
    `${head("provider: { api_key_env: AWS_SECRET_ACCESS_KEY }\n")}steps:\n${STEP}`
  ],
  [
    "an Authorization header",
    `${head("provider:\n  headers: { Authorization: Bearer sk-x }\n")}steps:\n${STEP}`
  ],
  [
    "an authorization header, lower case",
    `${head("provider:\n  headers: { authorization: Bearer sk-x }\n")}steps:\n${STEP}`
  ],
  ["a header name with a space", `${head('provider:\n  headers: { "X Title": a }\n')}steps:\n${STEP}`],
  ["a header value with CR LF", `${head('provider:\n  headers: { X-A: "a\\r\\nX-B: 1" }\n')}steps:\n${STEP}`],
  ["a header value with LF", `${head('provider:\n  headers: { X-A: "a\\nb" }\n')}steps:\n${STEP}`],
  ["a header value that is a number", `${head("provider:\n  headers: { X-A: 5 }\n")}steps:\n${STEP}`],
  // timeouts
  ...["0ms", "999ms", "2h", "50d", "abc", "5"].map(
    (t) => [`timeout ${t}`, withStep(`timeout: ${t}`)] as const
  ),
  ["a default timeout of 10d", `${head("defaults: { timeout: 10d }\n")}steps:\n${STEP}`],
  // budget, limits, cache
  ["max_cost_usd negative", `${head("budget: { max_cost_usd: -1 }\n")}steps:\n${STEP}`],
  ["max_cost_usd a string", `${head("budget: { max_cost_usd: lots }\n")}steps:\n${STEP}`],
  ["max_requests fractional", `${head("budget: { max_requests: 1.5 }\n")}steps:\n${STEP}`],
  ["an unknown gate", `${head("budget: { gate: maybe }\n")}steps:\n${STEP}`],
  ["concurrency 0", `${head("limits: { concurrency: 0 }\n")}steps:\n${STEP}`],
  ["concurrency negative", `${head("limits: { concurrency: -2 }\n")}steps:\n${STEP}`],
  ["concurrency a string", `${head("limits: { concurrency: many }\n")}steps:\n${STEP}`],
  ["an unknown free scope", `${head("limits: { free: { scope: galaxy } }\n")}steps:\n${STEP}`],
  ["a bad cache ttl", `${head("cache: { ttl: forever }\n")}steps:\n${STEP}`],
  ["cache enabled a string", `${head("cache: { enabled: yes please }\n")}steps:\n${STEP}`],
  // inputs
  ["an unknown input type", `${head("inputs:\n  x: { type: blob }\n")}steps:\n${STEP}`],
  [
    "a data file with a bad extension",
    `${head("inputs:\n  x: { type: array, from: rows.txt }\n")}steps:\n${STEP}`
  ],
  ["a missing data file", `${head("inputs:\n  x: { type: array, from: missing.jsonl }\n")}steps:\n${STEP}`],
  [
    "a data file above the folder",
    `${head("inputs:\n  x: { type: array, from: ../up.jsonl }\n")}steps:\n${STEP}`
  ],
  [
    "a data file by absolute path",
    `${head("inputs:\n  x: { type: array, from: /etc/hosts.json }\n")}steps:\n${STEP}`
  ],
  ["a default of the wrong type", `${head("inputs:\n  x: { type: array, default: 5 }\n")}steps:\n${STEP}`],
  ["an input with no value", `${head("inputs:\n  x: { type: string }\n")}steps:\n${STEP}`],
  [
    "a data file that is a directory",
    `${head("inputs:\n  x: { type: array, from: dir.jsonl }\n")}steps:\n${STEP}`
  ],
  [
    "a data file that is a FIFO",
    `${head("inputs:\n  x: { type: array, from: fifo.jsonl }\n")}steps:\n${STEP}`
  ],
  [
    "a symlink out of the folder",
    `${head("inputs:\n  x: { type: array, from: link.jsonl }\n")}steps:\n${STEP}`
  ],
  [
    "a data file that does not parse",
    `${head("inputs:\n  x: { type: array, from: bad.jsonl }\n")}steps:\n${STEP}`
  ],
  [
    "a CSV row with too many fields",
    `${head("inputs:\n  x: { type: array, from: bad.csv }\n")}steps:\n${STEP}`
  ],
  [
    "a data row without the field a prompt reads",
    withSteps(
      '  - { id: a, for_each: inputs.x, model: openai/gpt-4o-mini, max_tokens: 10, prompt: "{{ item.text }}" }\n',
      "inputs:\n  x: { type: array, from: rows.jsonl }\n"
    )
  ],
  [
    "an inline element without the field a prompt reads",
    withSteps(
      '  - { id: a, for_each: inputs.x, model: openai/gpt-4o-mini, max_tokens: 10, prompt: "{{ item.text }}" }\n',
      "inputs:\n  x: { type: array, default: [{ text: a }, { body: b }] }\n"
    )
  ],
  // outputs and output schemas
  ["an output reading an unknown step", `${head()}steps:\n${STEP}outputs:\n  o: "{{ steps.zz.output }}"\n`],
  ["an output with a syntax error", `${head()}steps:\n${STEP}outputs:\n  o: "{{ steps.a.output"\n`],
  ["an output that is a number", `${head()}steps:\n${STEP}outputs:\n  o: 5\n`],
  ["an output schema without format json", withStep("output: { schema: { type: object } }")],
  ["an invalid output schema", withStep("output: { format: json, schema: { type: bogus } }")],
  ["an unknown output format", withStep("output: { format: xml }")],
  [
    "an output schema that refers to itself without end",
    withStep('output: { format: json, schema: { $ref: "#" } }')
  ],
  // headers the HTTP client owns, and values HTTP cannot carry
  ...["Content-Length", "Transfer-Encoding", "Host", "Proxy-Authorization", "Connection"].map(
    (h) => [`a ${h} header`, `${head(`provider:\n  headers: { ${h}: x }\n`)}steps:\n${STEP}`] as const
  ),
  [
    "a header value outside Latin-1",
    `${head('provider:\n  headers: { X-Title: "✓ done" }\n')}steps:\n${STEP}`
  ],
  // params the schema bounds, and a reasoning budget beyond what the plan prices
  ...[
    "temperature: -3",
    "top_p: 7",
    'logit_bias: { "50256": 1000 }',
    "top_logprobs: 1000",
    "reasoning: { effort: extreme }",
    "reasoning: { budget: 5 }",
    "__proto__: { temperature: 1 }",
    "constructor: 1"
  ].map((p) => [`params { ${p} }`, withStep(`params: { ${p} }`)] as const),
  // small holes: each a diagnostic, not a silent default
  [
    "limits.models naming an unknown model",
    `${head("limits: { models: { openai/gpt-4o-mnii: { rpm: 5 } } }\n")}steps:\n${STEP}`
  ],
  [
    "max_items: 0",
    withSteps(
      '  - { id: a, for_each: inputs.xs, max_items: 0, model: openai/gpt-4o-mini, max_tokens: 10, prompt: "{{ item }}" }\n',
      "inputs:\n  xs: { type: array, default: [1] }\n"
    )
  ],
  [
    "an input with both from and default",
    `${head("inputs:\n  x: { type: array, from: rows.jsonl, default: [] }\n")}steps:\n${STEP}`
  ],
  [
    "a CSV header with an empty name",
    `${head("inputs:\n  x: { type: array, from: blank-header.csv }\n")}steps:\n${STEP}`
  ],
  [
    "a CSV header naming a column twice",
    `${head("inputs:\n  x: { type: array, from: twice-header.csv }\n")}steps:\n${STEP}`
  ],
  ["a reasoning budget above max_tokens", withStep("params: { reasoning: { max_tokens: 100000 } }")],
  [
    "a pack whose max_tokens passes the model's completion limit",
    withSteps(
      '  - { id: a, for_each: inputs.xs, pack: 20, model: openai/gpt-4o-mini, max_tokens: 1000, prompt: "{{ item }}" }\n',
      "inputs:\n  xs: { type: array, default: [1, 2] }\n"
    )
  ]
]

/** The folder every pipeline case runs in, with the data files some of them name. */
const fixtureDir = () => {
  const root = mkdtempSync(join(tmpdir(), "tg-hostile-"))
  const dir = join(root, "p")
  mkdirSync(join(dir, "dir.jsonl"), { recursive: true })
  writeFileSync(join(root, "up.jsonl"), '{"a": 1}\n')
  writeFileSync(join(dir, "rows.txt"), "x\n")
  writeFileSync(join(dir, "bad.jsonl"), '{"a": 1}\n{"a": \n')
  writeFileSync(join(dir, "bad.csv"), "a,b\n1,2,3\n")
  writeFileSync(join(dir, "blank-header.csv"), "a,,c\n1,2,3\n")
  writeFileSync(join(dir, "twice-header.csv"), "a,b,a\n1,2,3\n")
  writeFileSync(join(dir, "rows.jsonl"), '{"text": "a"}\n{"body": "b"}\n')
  symlinkSync(join(root, "up.jsonl"), join(dir, "link.jsonl"))
  execFileSync("mkfifo", [join(dir, "fifo.jsonl")])
  return dir
}

describe("hostile pipelines: exit 2, a diagnostic per problem at file:line:col, nothing sent", () => {
  let dir: string
  beforeAll(() => {
    dir = fixtureDir()
  })
  it("there are many", () => {
    expect(PIPELINES.length).toBeGreaterThanOrEqual(140)
  })
  it.each(PIPELINES)("%s", async (_, yaml) => {
    writeFileSync(join(dir, "p.yaml"), yaml)
    const r = await runCli(["run", "p.yaml", "--base-url", sim.url, "--no-cache", "--out-dir", "runs"], {
      cwd: dir
    })
    expect(r.code, r.stderr).toBe(2)
    const lines = clean(r.stderr)
    expect(lines[0]).toMatch(/^(p\.yaml|[\w.-]+\.(jsonl|csv)):\d+:\d+: /)
    expect(lines.at(-1)).toMatch(SUMMARY)
    expect(r.stdout).toBe("")
  })
})

/** Template expansion is bounded: the limit names itself, in one line at the template's place. */
const EXPANSIONS: ReadonlyArray<readonly [string, string]> = [
  [
    "a range of a billion in a prompt",
    withStep('prompt: "{% for i in (1..1000000000) %}x{% endfor %}"').replace("prompt: hi, ", "")
  ],
  [
    "a for_each over a range of fifty million",
    withSteps(
      '  - { id: a, for_each: "(1..50000000)", model: openai/gpt-4o-mini, max_tokens: 10, prompt: "{{ item }}" }\n'
    )
  ],
  [
    "a for_each over a million and a half items",
    withSteps(
      '  - { id: a, for_each: "(1..1500000)", model: openai/gpt-4o-mini, max_tokens: 10, prompt: "{{ item }}" }\n'
    )
  ]
]

describe("unbounded template expansion: exit 2 in about a second, one line naming the limit", () => {
  it.each(EXPANSIONS)("%s", async (_, yaml) => {
    const dir = write({ "p.yaml": yaml })
    for (const command of ["plan", "run"]) {
      const r = await runCli([command, "p.yaml", "--base-url", sim.url, "--no-cache", "--out-dir", "runs"], {
        cwd: dir
      })
      expect(r.code, r.stderr).toBe(2)
      const lines = clean(r.stderr)
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatch(/^error: p\.yaml:4:\d+: .*limit of [\d,]+ /)
    }
  })
})

const GOOD = `${head()}steps:\n${STEP}`

describe("hostile command lines and files: the right exit code, one line, nothing sent", () => {
  const cases: ReadonlyArray<readonly [string, (dir: string) => string[], number, RegExp]> = [
    ["--max-cost lots", () => ["run", "p.yaml", "--max-cost", "lots"], 2, /--max-cost/],
    ["--max-cost negative", () => ["plan", "p.yaml", "--max-cost", "-1"], 2, /--max-cost|-1/],
    ["--concurrency 0", () => ["run", "p.yaml", "--concurrency", "0"], 2, /--concurrency/],
    ["--concurrency 1000", () => ["run", "p.yaml", "--concurrency", "1000"], 2, /--concurrency/],
    ["--concurrency abc", () => ["run", "p.yaml", "--concurrency", "abc"], 2, /--concurrency/],
    ["--format xml", () => ["plan", "p.yaml", "--format", "xml"], 2, /format/],
    ["--input without =", () => ["plan", "p.yaml", "--input", "x"], 2, /--input x/],
    ["--input for no such input", () => ["plan", "p.yaml", "--input", "nope=1"], 2, /no input "nope"/],
    [
      "--input @missing file",
      () => ["plan", "p.yaml", "--input", "nope=@missing.jsonl"],
      2,
      /missing\.jsonl|nope/
    ],
    ["--base-url file:", () => ["run", "p.yaml", "--base-url", "file:///etc"], 2, /--base-url must be http/],
    ["--base-url ftp:", () => ["run", "p.yaml", "--base-url", "ftp://x"], 2, /--base-url must be http/],
    [
      "--base-url with credentials",
      () => ["run", "p.yaml", "--base-url", "https://u:p@x.example"],
      2,
      /credentials/
    ],
    ["--store http:", () => ["run", "p.yaml", "--store", "http://x"], 2, /--store/],
    ["--out-dir empty (run)", () => ["run", "p.yaml", "--out-dir", ""], 2, /--out-dir: expected a folder/],
    ["--out-dir empty (plan)", () => ["plan", "p.yaml", "--out-dir", " "], 2, /--out-dir: expected a folder/],
    ...[
      ['format_version "1"', '"1"'],
      ["format_version -1", "-1"],
      ["no format_version", undefined]
    ].map(
      ([name, version]) =>
        [
          `a saved plan with ${name}`,
          (dir: string) => {
            const plan = {
              saved_plan: { pipeline_path: "p.yaml", inputs: [] },
              hashes: { pipeline: "x", inputs: "x", data: {}, prices: "x" }
            }
            writeFileSync(
              join(dir, "saved.json"),
              version === undefined
                ? JSON.stringify(plan)
                : `{"format_version": ${version}, ${JSON.stringify(plan).slice(1)}`
            )
            return ["run", "saved.json"]
          },
          2,
          version === undefined
            ? /saved\.json: not a saved plan \(no format_version\)/
            : /saved\.json: format_version .* is not 2/
        ] as const
    ),
    ["an unknown flag", () => ["run", "p.yaml", "--bogus"], 2, /--bogus/],
    ["no pipeline", () => ["run"], 2, /pipeline/],
    ["an unknown command", () => ["rnu", "p.yaml"], 2, /rnu/],
    [
      "a pipeline that does not exist",
      () => ["run", "nope.yaml"],
      2,
      /nope\.yaml:1:1: cannot read the pipeline/
    ],
    ["a directory as the pipeline", () => ["run", "sub"], 2, /directory/],
    [
      "an --out-dir under a file",
      () => ["run", "p.yaml", "--base-url", sim.url, "--out-dir", "afile/runs"],
      2,
      /--out-dir/
    ],
    ["a missing saved plan", () => ["run", "missing.json"], 2, /no such file/],
    [
      "a .json file that is not JSON (so a pipeline)",
      () => ["run", "notjson.json"],
      2,
      /notjson\.json:1:7: /
    ],
    ["a saved plan of the wrong shape", () => ["run", "shape.json"], 2, /not a saved plan/],
    // a .json file without saved_plan is a pipeline written as JSON (decided by content, not extension)
    [
      "a JSON list, so a pipeline",
      () => ["run", "list.json"],
      2,
      /list\.json:1:1: the pipeline must be a mapping/
    ],
    ["a saved plan with a number for saved_plan", () => ["run", "five.json"], 2, /not a saved plan/],
    [
      "a cost with a negative count",
      () => ["cost", "openai/gpt-4o-mini", "--prompt-tokens=-1", "--completion-tokens", "1"],
      2,
      /--prompt-tokens/
    ],
    [
      "a cost for an unknown model",
      () => ["cost", "nope/nope", "--prompt-tokens", "1", "--completion-tokens", "1"],
      2,
      /unknown model/
    ],
    [
      "quota with --credits-purchased lots",
      () => ["quota", "--credits-purchased", "lots"],
      2,
      /--credits-purchased/
    ],
    ["OpenRouter without a key", () => ["run", "p.yaml"], 2, /OPENROUTER_API_KEY is not set/]
  ]

  it.each(cases)("%s", async (_, argv, code, message) => {
    const dir = write({
      "p.yaml": GOOD,
      "sub/x.yaml": GOOD,
      afile: "x",
      "notjson.json": "{ nope",
      "shape.json": '{"saved_plan": {"pipeline_path": 3}}',
      "list.json": "[1, 2]",
      "five.json": '{"saved_plan": 5, "hashes": {}}'
    })
    const r = await runCli(argv(dir), { cwd: dir })
    expect(r.code, r.stderr).toBe(code)
    const lines = clean(r.stderr)
    expect(lines.filter((l) => !SUMMARY.test(l))).toHaveLength(1)
    expect(r.stderr).toMatch(message)
  })

  it.each([
    "garbage",
    "",
    "[]",
    '{"version":1,"days":{"2026-01-01":-3}}',
    '{"version":1,"days":"x"}',
    '{"version":9,"days":{}}'
  ])("a damaged quota ledger (%j): plan exits 1 with one line naming it", async (damage) => {
    const home = tempHome()
    mkdirSync(join(home, "ledger"), { recursive: true })
    writeFileSync(join(home, "ledger", "anonymous.json"), damage)
    const dir = write({
      "p.yaml": withSteps("  - { id: a, model: openai/gpt-oss-20b:free, max_tokens: 10, prompt: hi }\n")
    })
    const r = await runCli(["plan", "p.yaml"], { cwd: dir, env: { TOLLGATE_HOME: home } })
    expect(r.code).toBe(1)
    expect(clean(r.stderr)).toHaveLength(1)
    expect(r.stderr).toContain(join(home, "ledger", "anonymous.json"))
  })

  it("TOLLGATE_HOME that is a file: exit 1, one line", async () => {
    const dir = write({ "p.yaml": GOOD, home: "x" })
    const r = await runCli(["plan", "p.yaml"], { cwd: dir, env: { TOLLGATE_HOME: join(dir, "home") } })
    expect(r.code).toBe(1)
    expect(clean(r.stderr)).toHaveLength(1)
  })
})
