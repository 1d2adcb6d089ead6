/** The runner's settings come from the environment once, through Config: a bad value is exit 2 naming the variable. */
import { existsSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { runCli } from "./support/cli.ts"

describe("settings from the environment", () => {
  it.each([
    ["TOLLGATE_CACHE_MAX_ENTRIES", "many"],
    ["TOLLGATE_CACHE_MAX_MB", "lots"]
  ])("%s=%s: one line naming the variable, exit 2, before anything is read or sent", async (name, value) => {
    const r = await runCli(["plan", "examples/summarize-articles.yaml"], { env: { [name]: value } })
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split("\n")).toEqual([
      `error: ${name}: expected a string representing a finite number`
    ])
  })

  it("TOLLGATE_HOME is where the state goes; an empty variable is an unset one", async () => {
    const home = mkdtempSync(join(tmpdir(), "tg-settings-"))
    const r = await runCli(["plan", "examples/summarize-articles.yaml"], {
      env: { TOLLGATE_HOME: home, TOLLGATE_CACHE_MAX_MB: "" }
    })
    expect(r.code, r.stderr).toBe(0)
    expect(existsSync(join(home, "token-counts.bin"))).toBe(true)
  })
})
