/**
 * The key goes only where the user sent it: OpenRouter, or a base URL given on the command line or
 * in the environment. A host that only the pipeline file names gets no key from plan, quota or run.
 */
import { afterEach, describe, expect, it } from "vitest"
import { runCli, tempHome } from "./support/cli.ts"
import { writeDir } from "./support/pipelines.ts"
import { simulatorPool } from "./support/simulator.ts"

const { sim, closeAll } = simulatorPool()
afterEach(closeAll)

const KEY = "sk-proj-NOT-FOR-THAT-HOST-0123456789"
const pipeline = (url: string) => `version: 1
name: route
provider: { base_url: "${url}", api_key_env: OPENAI_API_KEY }
steps:
  - { id: a, model: openai/gpt-4o-mini, prompt: hello, max_tokens: 5 }
`

describe("a host only the pipeline names gets no key", () => {
  it("plan asks nothing there, says the account was not asked and why, and still plans", async () => {
    const s = await sim({ account: { isFreeTier: true } })
    const dir = writeDir({ "p.yaml": pipeline(s.url) })
    const r = await runCli(["plan", "p.yaml", "--format", "json"], {
      cwd: dir,
      env: { TOLLGATE_HOME: tempHome(), OPENAI_API_KEY: KEY }
    })
    expect(r.code, r.stderr).toBe(0)
    expect(s.accountCalls).toEqual([])
    expect(s.log).toHaveLength(0)
    expect(r.stderr).toMatch(
      /^warning: the account was not asked: the key in OPENAI_API_KEY goes only to https:\/\/openrouter\.ai or to a base URL you give \(--base-url or TOLLGATE_BASE_URL\), not to http:\/\/127\.0\.0\.1:\d+, which only the pipeline names$/m
    )
    expect(r.stdout + r.stderr).not.toContain(KEY)
  })

  it("runner quota with that pipeline asks nothing there either", async () => {
    const s = await sim({ account: { isFreeTier: true } })
    const dir = writeDir({ "p.yaml": pipeline(s.url) })
    const r = await runCli(["quota", "p.yaml"], { cwd: dir, env: { OPENAI_API_KEY: KEY } })
    expect(r.code, r.stderr).toBe(0)
    expect(s.accountCalls).toEqual([])
    expect(r.stderr).toContain("the account was not asked")
  })

  it("run refuses with exit 2 before sending anything, naming how to trust the host", async () => {
    const s = await sim()
    const dir = writeDir({ "p.yaml": pipeline(s.url) })
    const r = await runCli(["run", "p.yaml", "--no-cache"], { cwd: dir, env: { OPENAI_API_KEY: KEY } })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("the key in OPENAI_API_KEY goes only to https://openrouter.ai")
    expect(r.stderr).toContain(`pass --base-url ${s.url} if you trust it; nothing was sent`)
    expect(s.log).toHaveLength(0)
    expect(s.accountCalls).toEqual([])
  })

  it("the same host given in TOLLGATE_BASE_URL (or --base-url) is the user's choice: the key goes there", async () => {
    const s = await sim({ account: { isFreeTier: true } })
    const dir = writeDir({ "p.yaml": pipeline(s.url) })
    const r = await runCli(["run", "p.yaml", "--no-cache"], {
      cwd: dir,
      env: { OPENAI_API_KEY: KEY, TOLLGATE_BASE_URL: s.url }
    })
    expect(r.code, r.stderr).toBe(0)
    expect(s.accountCalls).toEqual(["GET /key"])
    expect(s.log.map((l) => l.authorization)).toEqual([`Bearer ${KEY}`])
  })

  it("with no key set, a pipeline's own host (a local server) is sent requests without one", async () => {
    const s = await sim()
    const dir = writeDir({ "p.yaml": pipeline(s.url) })
    const r = await runCli(["run", "p.yaml", "--no-cache"], { cwd: dir, env: {} })
    expect(r.code, r.stderr).toBe(0)
    expect(s.log.map((l) => l.authorization)).toEqual([undefined])
  })

  it("a TOLLGATE_BASE_URL with credentials is refused like --base-url, naming the variable", async () => {
    const dir = writeDir({ "p.yaml": pipeline("https://openrouter.ai/api/v1") })
    const r = await runCli(["plan", "p.yaml"], {
      cwd: dir,
      env: { TOLLGATE_BASE_URL: "https://u:secret@x.example/v1" }
    })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("TOLLGATE_BASE_URL must not carry credentials")
    expect(r.stderr).not.toContain("secret")
  })
})

describe("runner models refresh", () => {
  it("refuses a base URL with user:password, never printing or storing the password", async () => {
    const home = tempHome()
    const r = await runCli(["models", "refresh", "--base-url", "https://user:hunter2@x.example/v1"], {
      env: { TOLLGATE_HOME: home }
    })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("--base-url must not carry credentials")
    expect(r.stdout + r.stderr).not.toContain("hunter2")
  })
})
