/**
 * Against an OpenAI-compatible server nobody here wrote: `@dwmkerr/mock-llm` (npm), run on
 * loopback. Its replies carry no `usage`: the run reports their cost as worst cases and says so;
 * a 200 without choices is a failed attempt, not an empty answer.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { createServer } from "node:net"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runCli, tempHome } from "./support/cli.ts"
import { writeDir } from "./support/pipelines.ts"

const CONFIG = `rules:
  - path: "/v1/chat/completions"
    method: "POST"
    match: "@"
    response:
      status: 200
      content: |
        {
          "id": "chatcmpl-{{timestamp}}",
          "object": "chat.completion",
          "model": "{{jmes request body.model}}",
          "choices": [{
            "message": { "role": "assistant", "content": "{{jmes request body.messages[-1].content}}" },
            "finish_reason": "stop"
          }]
        }
  - path: "/v1/chat/completions"
    method: "POST"
    match: "contains(body.messages[-1].content, 'empty')"
    response:
      status: 200
      content: |
        { "id": "chatcmpl-empty", "object": "chat.completion", "choices": [] }
  - path: "/v1/models"
    method: "GET"
    response:
      status: 200
      content: |
        { "object": "list", "data": [{ "id": "llama3.2", "object": "model" }, { "id": "qwen2.5", "object": "model" }] }
`

const freePort = () =>
  new Promise<number>((resolve) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => resolve(port))
    })
  })

let server: ChildProcess
let url: string
beforeAll(async () => {
  const dir = writeDir({ "mock-llm.yaml": CONFIG })
  const main = join(
    createRequire(import.meta.url).resolve("@dwmkerr/mock-llm/package.json"),
    "..",
    "dist",
    "main.js"
  )
  const port = await freePort()
  server = spawn(process.execPath, [main, "--config", join(dir, "mock-llm.yaml")], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "", PORT: String(port), HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "pipe"]
  })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("mock-llm did not start")), 15_000)
    server.stdout!.on("data", (d: Buffer) => {
      if (d.toString().includes("server running")) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  url = `http://127.0.0.1:${port}/v1`
}, 20_000)
afterAll(() => {
  server?.kill()
})

const pipeline = (items: string[]) =>
  `version: 1\nname: mock\nprovider: { kind: openai }\ninputs:\n  xs: { type: array, default: ${JSON.stringify(items)} }\nsteps:\n  - { id: a, for_each: inputs.xs, model: openai/gpt-4o-mini, prompt: "{{ item }}", max_tokens: 20, retry: { max_attempts: 2 }, continue_on_error: true }\n`

describe("@dwmkerr/mock-llm on loopback", () => {
  it("echoes answered; no usage, so every cost is a worst case, labelled so", async () => {
    const dir = writeDir({ "p.yaml": pipeline(["one", "two", "three"]) })
    const r = await runCli(["run", "p.yaml", "--base-url", url, "--format", "json", "--out-dir", "runs"], {
      cwd: dir,
      env: { TOLLGATE_HOME: tempHome() }
    })
    expect(r.code, r.stderr).toBe(0)
    const summary = JSON.parse(r.stdout)
    expect(summary.outputs).toEqual({})
    expect(summary.steps[0].actual.completed).toBe(3)
    expect(summary.actual.cost_sources.bound_usd).toBe(summary.actual.cost_usd)
    expect(summary.actual.cost_usd).toBeGreaterThan(0)
  })

  it("a 200 with no choices is a failed attempt, retried, and never an empty answer", async () => {
    const dir = writeDir({ "p.yaml": pipeline(["fine", "empty please"]) })
    const r = await runCli(["run", "p.yaml", "--base-url", url, "--format", "json", "--out-dir", "runs"], {
      cwd: dir,
      env: { TOLLGATE_HOME: tempHome() }
    })
    const summary = JSON.parse(r.stdout)
    expect(summary.steps[0].actual).toMatchObject({ completed: 1, failed: 1, retries: 1 })
    const records = readFileSync(join(summary.run.dir, "steps", "a.jsonl"), "utf8")
    expect(records).toContain("the reply has no choices")
  })

  it("a local model's plain id: /models lists it without a price; the pipeline declares one; plan and run use it", async () => {
    const home = tempHome()
    const refresh = await runCli(["models", "refresh", "--base-url", url], { env: { TOLLGATE_HOME: home } })
    expect(refresh.code, refresh.stderr).toBe(0)
    const listed = await runCli(["models", "--search", "llama", "--format", "json"], {
      env: { TOLLGATE_HOME: home }
    })
    expect(listed.stdout).toContain("llama3.2")
    const local = (pricing: string) =>
      `version: 1\nname: local\nprovider: { kind: openai }\n${pricing}budget: { max_cost_usd: 0.01 }\nsteps:\n  - { id: a, model: llama3.2, prompt: hello, max_tokens: 100 }\n`
    // without a price there is no cost bound: a diagnostic says how to give one, nothing is sent
    const unpriced = writeDir({ "p.yaml": local("") })
    const refused = await runCli(["run", "p.yaml", "--base-url", url], {
      cwd: unpriced,
      env: { TOLLGATE_HOME: home }
    })
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain(
      'model "llama3.2" has no known price, so no cost bound exists: give it under pricing:'
    )
    const priced = writeDir({ "p.yaml": local("pricing:\n  llama3.2: { prompt: 0.1, completion: 0.2 }\n") })
    const r = await runCli(["run", "p.yaml", "--base-url", url, "--format", "json", "--out-dir", "runs"], {
      cwd: priced,
      env: { TOLLGATE_HOME: home }
    })
    expect(r.code, r.stderr).toBe(0)
    const summary = JSON.parse(r.stdout)
    // no usage in the reply: the declared price's worst case, labelled so
    expect(summary.actual.cost_sources.bound_usd).toBe(summary.cost_usd.max)
    expect(summary.steps[0].actual.completed).toBe(1)
  })
})
