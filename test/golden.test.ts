/**
 * Golden diagnostics: every `fixtures/invalid/<case>.yaml` fails validation with exit 2 and
 * exactly the diagnostics in `<case>.out`. `UPDATE_GOLDEN=1 pnpm test golden` rewrites them.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { runCli } from "./support/cli.ts"

const DIR = fileURLToPath(new URL("./fixtures/invalid/", import.meta.url))
const cases = readdirSync(DIR)
  .filter((f) => f.endsWith(".yaml"))
  .map((f) => f.slice(0, -5))
  .sort()

describe("invalid pipelines", () => {
  it("there are at least 30 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(30)
  })

  it.each(cases)("%s", async (name) => {
    const r = await runCli(["validate", `${name}.yaml`], { cwd: DIR })
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    const outPath = join(DIR, `${name}.out`)
    if (process.env.UPDATE_GOLDEN) writeFileSync(outPath, r.stderr)
    expect(r.stderr).toBe(readFileSync(outPath, "utf8"))
  })
})
