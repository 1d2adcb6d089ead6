/** `runner models refresh` against a local HTTP server: good, malformed, slow, oversize, wrong shape. */
import { readFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { CatalogStore } from "@tollgate/core"
import { Effect, Exit } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { nodeFs, runCli, tempHome } from "./support/cli.ts"
import { startRedis } from "./support/redis.ts"

const older = readFileSync(
  new URL("../packages/pricing/test/fixtures/openrouter-models-2026-02-27-raw.json", import.meta.url),
  "utf8"
)

let server: Server
let base = ""
beforeAll(async () => {
  server = createServer((req, res) => {
    const route = req.url?.split("/")[1]
    if (req.url?.endsWith("/models") === false) {
      res.writeHead(404).end()
      return
    }
    switch (route) {
      case "good":
        res.writeHead(200, { "content-type": "application/json" }).end(older)
        return
      case "malformed":
        res.writeHead(200, { "content-type": "application/json" }).end('{"data": [ {"id": ')
        return
      case "shape":
        res.writeHead(200, { "content-type": "application/json" }).end('{"models": []}')
        return
      case "slow":
        setTimeout(() => res.writeHead(200).end(older), 5_000).unref()
        return
      case "huge":
        res.writeHead(200, { "content-type": "application/json" })
        res.write(older)
        res.end(older)
        return
      case "error":
        res.writeHead(503).end("down")
        return
      default:
        res.writeHead(404).end()
    }
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => {
  server.closeAllConnections()
  server.close()
})

const limits = { timeoutMs: 500, maxBytes: Buffer.byteLength(older) + 100 }

/** `runner cost` of one request, as JSON: it names the catalog it priced with. */
const catalogOfCost = async (env: Record<string, string>) =>
  JSON.parse(
    (
      await runCli(
        [
          "cost",
          "openai/gpt-4o-mini",
          "--prompt-tokens",
          "1",
          "--completion-tokens",
          "1",
          "--format",
          "json"
        ],
        { env }
      )
    ).stdout
  ) as { catalog: { source: string; models: number } }

describe("catalog refresh", () => {
  it("a good catalog is stored and used from then on; the CLI says which catalog", async () => {
    const home = tempHome()
    const store = CatalogStore.CatalogStore.make(CatalogStore.fileStorage(home, nodeFs))
    const fresh = await Effect.runPromise(store.refresh(`${base}/good`, limits))
    expect(fresh.size).toBe(344)
    const current = await Effect.runPromise(store.current)
    expect(current.source.kind).toBe("refreshed")
    expect(current.size).toBe(344)
    const r = await runCli(["models", "--format", "json"], { env: { TOLLGATE_HOME: home } })
    expect(JSON.parse(r.stdout).catalog).toMatchObject({ source: "refreshed", models: 344 })
  })

  it.each([
    ["malformed", "malformed"],
    ["shape", "invalid"],
    ["slow", "timeout"],
    ["huge", "too-large"],
    ["error", "http"]
  ])("%s: fails with reason %s and keeps the catalog in use", async (route, reason) => {
    const home = tempHome()
    const store = CatalogStore.CatalogStore.make(CatalogStore.fileStorage(home, nodeFs))
    await Effect.runPromise(store.refresh(`${base}/good`, limits))
    const exit = await Effect.runPromiseExit(store.refresh(`${base}/${route}`, limits))
    expect(Exit.isFailure(exit)).toBe(true)
    if (Exit.isFailure(exit)) expect(JSON.stringify(exit.cause)).toContain(reason)
    const current = await Effect.runPromise(store.current)
    expect(current.source.kind).toBe("refreshed")
    expect(current.size).toBe(344)
  })

  it("runner models refresh: exit 0, names the new catalog; later commands use it", async () => {
    const home = tempHome()
    const r = await runCli(["models", "refresh", "--base-url", `${base}/good`], {
      env: { TOLLGATE_HOME: home }
    })
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(
      /catalog refreshed: refreshed from http:\/\/127\.0\.0\.1:\d+\/good \d{4}-\d\d-\d\dT.* \(344 models\)/
    )
    expect((await catalogOfCost({ TOLLGATE_HOME: home })).catalog).toMatchObject({
      source: "refreshed",
      models: 344
    })
  })

  it("with nothing refreshed, a failed refresh leaves the bundled snapshot in use; exit 1 names it", async () => {
    const home = tempHome()
    const r = await runCli(["models", "refresh", "--base-url", `${base}/malformed`], {
      env: { TOLLGATE_HOME: home }
    })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/refresh failed: .*not JSON.*still using bundled snapshot 2026-08-19/)
    const current = await Effect.runPromise(
      CatalogStore.CatalogStore.make(CatalogStore.fileStorage(home, nodeFs)).current
    )
    expect(current.source.kind).toBe("bundled")
  })

  it("on a shared store, a refresh on one machine is the catalog another machine plans with; alone it has the snapshot", async () => {
    const redis = await startRedis()
    try {
      const store = { TOLLGATE_STORE: redis.url }
      const a = await runCli(["models", "refresh", "--base-url", `${base}/good`], {
        env: { TOLLGATE_HOME: tempHome(), ...store }
      })
      expect(a.code, a.stderr).toBe(0)
      const b = await catalogOfCost({ TOLLGATE_HOME: tempHome(), ...store })
      expect(b.catalog).toMatchObject({ source: "refreshed", models: 344 })
      expect((await catalogOfCost({ TOLLGATE_HOME: tempHome() })).catalog).toMatchObject({
        source: "bundled"
      })
    } finally {
      redis.stop()
    }
  })
})
