/**
 * The GitHub Action's step (scripts/action.sh, as action.yml runs it) in a simulated runner: the
 * job summary, annotations for diagnostics, the outputs and the exit code; the cost diff of a
 * pull request on a repository with two commits, its one comment posted and then updated (`gh`
 * stood in for by a script that keeps the comments); and the install step from the action's own
 * checkout. The installed runner is stood in for by the workspace's own bin.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { BIN, ROOT, tempHome } from "./support/cli.ts"

const action = (
  inputs: Record<string, string>,
  files: Record<string, string> = {},
  extraEnv: Record<string, string> = {}
) => {
  const temp = mkdtempSync(join(tmpdir(), "tg-action-"))
  const work = inputs.work ?? join(temp, "work")
  mkdirSync(join(temp, "tollgate", "node_modules", ".bin"), { recursive: true })
  const shim = join(temp, "tollgate", "node_modules", ".bin", "runner")
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`)
  chmodSync(shim, 0o755)
  mkdirSync(work, { recursive: true })
  for (const [name, text] of Object.entries(files)) writeFileSync(join(work, name), text)
  const summary = join(temp, "summary.md")
  const output = join(temp, "output")
  writeFileSync(summary, "")
  writeFileSync(output, "")
  const r = spawnSync("bash", [join(ROOT, "scripts", "action.sh")], {
    cwd: inputs.cwd ?? work,
    encoding: "utf8",
    env: {
      PATH: process.env.PATH ?? "",
      TOLLGATE_HOME: tempHome(),
      RUNNER_TEMP: temp,
      GITHUB_STEP_SUMMARY: summary,
      GITHUB_OUTPUT: output,
      PIPELINE: inputs.pipeline ?? "",
      COMMAND: inputs.command ?? "plan",
      MAX_COST: inputs.maxCost ?? "",
      TOLLGATE_STORE: "",
      FORMAT: inputs.format ?? "markdown",
      OUT_DIR: inputs.outDir ?? ".tollgate/runs",
      SHARD: inputs.shard ?? "",
      COMPARE_REF: inputs.compareRef ?? "",
      FAIL_ON_INCREASE: inputs.failOnIncrease ?? "",
      FAIL_ON: inputs.failOn ?? "expected",
      COMMENT: inputs.comment ?? "false",
      GITHUB_WORKSPACE: inputs.workspace ?? inputs.cwd ?? work,
      ...(inputs.home !== undefined ? { TOLLGATE_HOME: inputs.home } : {}),
      ...extraEnv
    }
  })
  const outputs = Object.fromEntries(
    readFileSync(output, "utf8")
      .trim()
      .split("\n")
      .map((l) => l.split("=") as [string, string])
  )
  return {
    code: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    summary: readFileSync(summary, "utf8"),
    outputs,
    work
  }
}

/** A stand-in for `gh api` that keeps a pull request's comments in a directory (id, first line, body). */
const fakeGh = (fail = false) => {
  const dir = mkdtempSync(join(tmpdir(), "tg-gh-"))
  const bin = join(dir, "bin")
  mkdirSync(bin)
  writeFileSync(
    join(bin, "gh"),
    `#!/usr/bin/env bash
echo "$*" >> "${dir}/calls"
${fail ? 'case "$*" in *" -X "*) echo "HTTP 403: Resource not accessible by integration" >&2; exit 1 ;; esac' : ""}
case "$*" in
  *--paginate*) [ -f "${dir}/comments.tsv" ] && cat "${dir}/comments.tsv"; exit 0 ;;
esac
file=""
for a in "$@"; do case "$a" in body=@*) file="\${a#body=@}" ;; esac; done
case "$*" in
  *"-X POST"*) id=$((100 + $(ls "${dir}" | grep -c '^body-'))); cp "$file" "${dir}/body-$id"; printf '%s\t%s\n' "$id" "$(head -n 1 "$file")" >> "${dir}/comments.tsv" ;;
  *"-X PATCH"*) for a in "$@"; do case "$a" in */comments/*) id="\${a##*/}" ;; esac; done; cp "$file" "${dir}/body-$id" ;;
esac
`
  )
  chmodSync(join(bin, "gh"), 0o755)
  return {
    path: `${bin}:${process.env.PATH ?? ""}`,
    calls: () =>
      existsSync(join(dir, "calls")) ? readFileSync(join(dir, "calls"), "utf8").trim().split("\n") : [],
    body: (id: number) => readFileSync(join(dir, `body-${id}`), "utf8")
  }
}

const PIPELINE = (model: string, rows: number) =>
  `version: 1\nname: nightly\ninputs:\n  xs: { type: array, default: [${Array.from({ length: rows }, (_, i) => i).join(", ")}] }\nsteps:\n  - { id: summarize, for_each: inputs.xs, model: openai/gpt-4o-mini, prompt: "item {{ item }}", max_tokens: 200 }\n  - { id: digest, model: ${model}, prompt: "{{ steps.summarize.outputs | join: ', ' }}", max_tokens: 400 }\n`

/** A repository whose pipeline (under pipelines/) changes in a second commit, and a pull request event. */
const twoCommits = () => {
  const repo = mkdtempSync(join(tmpdir(), "tg-repo-"))
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], {
      cwd: repo,
      encoding: "utf8"
    })
  git("init", "--quiet", "-b", "main")
  mkdirSync(join(repo, "pipelines"))
  writeFileSync(join(repo, "pipelines", "nightly.yaml"), PIPELINE("openai/gpt-4o-mini", 20))
  git("add", ".")
  git("commit", "--quiet", "-m", "base")
  writeFileSync(join(repo, "pipelines", "nightly.yaml"), PIPELINE("anthropic/claude-sonnet-4.5", 30))
  git("commit", "--quiet", "-am", "a dearer digest, more rows")
  const event = join(repo, "..", `${repo.split("/").pop()}-event.json`)
  writeFileSync(event, JSON.stringify({ pull_request: { number: 7 } }))
  return { repo, git, event }
}

describe("the GitHub Action", () => {
  it("plan: the plan as markdown in the job summary, its costs as outputs, exit 0", () => {
    const r = action({ pipeline: "examples/classify-then-report.yaml", cwd: ROOT })
    expect(r.code).toBe(0)
    expect(r.summary).toMatch(/^### ✅ Tollgate plan: `classify-then-report`/)
    expect(Number(r.outputs["cost-max"])).toBeGreaterThan(0)
    expect(Number(r.outputs["cost-expected"])).toBeGreaterThan(0)
    expect(r.outputs["exit-code"]).toBe("0")
  })

  it("plan over max-cost: exit 3, the violation in the summary", () => {
    const r = action({ pipeline: "examples/classify-then-report.yaml", cwd: ROOT, maxCost: "0.000001" })
    expect(r.code).toBe(3)
    expect(r.summary).toMatch(/### ❌ Tollgate plan/)
    expect(r.summary).toContain("max_cost_usd")
    expect(r.outputs["exit-code"]).toBe("3")
  })

  it("an invalid pipeline: exit 2, each diagnostic as an annotation and in the summary", () => {
    const r = action(
      { pipeline: "p.yaml" },
      {
        "p.yaml":
          "version: 1\nname: t\nsteps:\n  - id: a\n    model: openai/gpt-4o-mini\n    max_token: 5\n    prompt: hi\n"
      }
    )
    expect(r.code).toBe(2)
    expect(r.stdout).toContain('::error file=p.yaml,line=6,col=5::unknown key "max_token"')
    expect(r.summary).toContain("runner plan exited 2")
    expect(r.summary).toContain('p.yaml:6:5: unknown key "max_token"')
    expect(r.outputs).toMatchObject({ "cost-expected": "", "cost-max": "", "exit-code": "2" })
  })

  it("run: the run summary in the job summary, costs from the run's records", () => {
    const r = action(
      { pipeline: "p.yaml", command: "run" },
      {
        "p.yaml":
          'version: 1\nname: echoed\nprovider: { base_url: "echo:" }\nsteps:\n  - { id: a, model: openai/gpt-4o-mini, prompt: hi, max_tokens: 5 }\n'
      }
    )
    expect(r.code).toBe(0)
    expect(r.summary).toMatch(/^### ✅ Tollgate run: `echoed`/)
    expect(Number(r.outputs["cost-max"])).toBeGreaterThan(0)
    expect(r.outputs["exit-code"]).toBe("0")
  })

  it("a pull request: the base commit planned too, the diff in the log and the summary, one comment posted then updated", () => {
    const { repo, git, event } = twoCommits()
    const gh = fakeGh()
    const env = { PATH: gh.path, GITHUB_EVENT_PATH: event, GITHUB_REPOSITORY: "o/r", GH_TOKEN: "t" }
    const inputs = {
      pipeline: "pipelines/nightly.yaml",
      cwd: repo,
      work: repo,
      compareRef: "HEAD~1",
      comment: "true"
    }
    const r = action(inputs, {}, env)
    expect(r.code, r.stdout).toBe(0)
    expect(r.stdout).toContain("<!-- tollgate-cost-diff: nightly -->")
    expect(r.stdout).toMatch(/digest .*model openai\/gpt-4o-mini → anthropic\/claude-sonnet-4\.5/)
    expect(r.summary).toContain("data rows added: +10 (20 → 30)")
    expect(Number(r.outputs["cost-change"])).toBeGreaterThan(0)
    expect(Number(r.outputs["cost-change-pct"])).toBeGreaterThan(100)
    const body = gh.body(100)
    expect(body.split("\n")[0]).toBe("<!-- tollgate-cost-diff: nightly -->")
    expect(body).toContain("```mermaid")
    expect(body).not.toContain("the plan</summary>")
    const posts = gh.calls().filter((c) => c.includes("-X POST"))
    expect(posts).toHaveLength(1)
    expect(posts[0]).toMatch(/^api --silent -X POST repos\/o\/r\/issues\/7\/comments -F body=@\S+$/)
    // a push: the same comment is edited, no second one
    writeFileSync(join(repo, "pipelines", "nightly.yaml"), PIPELINE("anthropic/claude-sonnet-4.5", 40))
    git("commit", "--quiet", "-am", "more rows")
    const again = action({ ...inputs, compareRef: "HEAD~2" }, {}, env)
    expect(again.code).toBe(0)
    expect(gh.calls().filter((c) => c.includes("-X POST"))).toHaveLength(1)
    expect(gh.calls().filter((c) => c.includes("-X PATCH repos/o/r/issues/comments/100"))).toHaveLength(1)
    expect(gh.body(100)).toContain("data rows added: +20 (20 → 40)")
    // the worktree of the base commit is gone again
    expect(git("worktree", "list").trim().split("\n")).toHaveLength(1)
  })

  it("over the policy: exit 3, why in the log, the outputs of this run; a fork's token cannot comment: a warning", () => {
    const { repo, event } = twoCommits()
    const gh = fakeGh(true)
    const r = action(
      {
        pipeline: "pipelines/nightly.yaml",
        cwd: repo,
        work: repo,
        compareRef: "HEAD~1",
        comment: "true",
        failOnIncrease: "10%"
      },
      {},
      { PATH: gh.path, GITHUB_EVENT_PATH: event, GITHUB_REPOSITORY: "o/r", GH_TOKEN: "t" }
    )
    expect(r.code).toBe(3)
    expect(r.outputs["exit-code"]).toBe("3")
    expect(r.stdout).toMatch(/❌ over the policy \(expected cost up by at most 10%\)/)
    expect(r.stderr).toMatch(/the cost goes up more than the policy allows .*: digest \+\$/)
    expect(r.stdout).toContain("::warning::could not post the cost comment")
  })

  it("working-directory: annotations name the file from the repository's root", () => {
    const workspace = mkdtempSync(join(tmpdir(), "tg-ws-"))
    mkdirSync(join(workspace, "pipelines"))
    writeFileSync(
      join(workspace, "pipelines", "p.yaml"),
      "version: 1\nname: t\nsteps:\n  - id: a\n    model: openai/gpt-4o-mini\n    max_token: 5\n    prompt: hi\n"
    )
    const r = action({
      pipeline: "p.yaml",
      cwd: join(workspace, "pipelines"),
      workspace,
      work: join(workspace, "pipelines")
    })
    expect(r.code).toBe(2)
    expect(r.stdout).toContain('::error file=pipelines/p.yaml,line=6,col=5::unknown key "max_token"')
  })

  it("a run its gates stop: the outputs are this run's plan, never an earlier run's summary", () => {
    const pipeline =
      'version: 1\nname: echoed\nprovider: { base_url: "echo:" }\nsteps:\n  - { id: a, model: openai/gpt-4o-mini, prompt: hi, max_tokens: 5 }\n'
    const first = action({ pipeline: "p.yaml", command: "run" }, { "p.yaml": pipeline })
    expect(first.code).toBe(0)
    // the run's HTML report sits in its records (what the workflow uploads), named as an output
    expect(first.outputs.report).toMatch(/\/report\.html$/)
    expect(readFileSync(first.outputs.report!, "utf8").startsWith("<!doctype html>")).toBe(true)
    writeFileSync(join(first.work, "p.yaml"), pipeline.replace("max_tokens: 5", "max_tokens: 500"))
    const gated = action({ pipeline: "p.yaml", command: "run", maxCost: "0.0000001", work: first.work })
    expect(gated.code).toBe(3)
    expect(gated.stdout).toContain("max_cost_usd")
    expect(Number(gated.outputs["cost-max"])).toBeGreaterThan(Number(first.outputs["cost-max"]))
    expect(gated.outputs.report).toBe("") // nothing ran: no report
  })

  it("installs the runner from the action's own checkout: nothing published, the lockfile's dependencies", () => {
    const checkout = mkdtempSync(join(tmpdir(), "tg-checkout-"))
    for (const f of execFileSync("git", ["ls-files", "-z"], { cwd: ROOT, encoding: "utf8" }).split("\0"))
      if (f !== "" && existsSync(join(ROOT, f))) cpSync(join(ROOT, f), join(checkout, f))
    const temp = mkdtempSync(join(tmpdir(), "tg-install-"))
    const r = spawnSync("bash", [join(ROOT, "scripts", "action-install.sh")], {
      encoding: "utf8",
      // the store this machine filled: no network needed
      env: {
        ...process.env,
        GITHUB_ACTION_PATH: checkout,
        RUNNER_TEMP: temp,
        PACKAGE: "",
        npm_config_offline: "true"
      }
    })
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^runner \d+\.\d+\.\d+/)
    const plan = spawnSync(
      join(temp, "tollgate", "node_modules", ".bin", "runner"),
      ["plan", "examples/summarize-articles.yaml"],
      {
        cwd: checkout,
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "", TOLLGATE_HOME: tempHome() }
      }
    )
    expect(plan.status, plan.stderr).toBe(0)
    expect(plan.stdout).toContain("verdict: within budget and quota")
  })

  it("a bad command input: exit 2 with an annotation", () => {
    const r = action({ pipeline: "p.yaml", command: "deploy" })
    expect(r.code).toBe(2)
    expect(r.stdout).toContain("::error::command must be plan, run or merge")
  })
  it("a matrix of shards and a merge job: each shard runs its share, the merge joins them into one run", () => {
    const pipeline = [
      "version: 1",
      "name: split",
      "provider: { base_url: 'echo:' }",
      "inputs:",
      "  xs: { type: array, default: [a, b, c, d, e] }",
      "steps:",
      '  - { id: each, for_each: inputs.xs, model: openai/gpt-4o-mini, prompt: "{{ item }}", max_tokens: 5 }',
      '  - { id: all, model: openai/gpt-4o-mini, prompt: "{{ steps.each.outputs | size }}", max_tokens: 5 }',
      ""
    ].join("\n")
    const first = action({ pipeline: "p.yaml", command: "run", shard: "1/2" }, { "p.yaml": pipeline })
    expect(first.code).toBe(0)
    const second = action({ pipeline: "p.yaml", command: "run", shard: "2/2", work: first.work })
    expect(second.code).toBe(0)
    const merged = action({ pipeline: "p.yaml", command: "merge", work: first.work })
    expect(merged.code).toBe(0)
    expect(merged.summary).toContain("completed")
    expect(merged.outputs["exit-code"]).toBe("0")
  })
})
