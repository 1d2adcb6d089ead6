import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Agent } from "undici"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ExchangeRequest, type ExchangeResult, exchange } from "../src/Exchange.ts"
import { requestJson } from "../src/Http.ts"

const arrived: string[] = []
const closed: string[] = []
const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  "/ok": (req, res) => {
    let body = ""
    req.on("data", (c: Buffer) => (body += c.toString()))
    req.on("end", () => {
      res.writeHead(201, { "content-type": "application/json", "x-ratelimit-remaining": "7" })
      res.end(JSON.stringify({ echoed: body, auth: req.headers.authorization }))
    })
  },
  "/big": (_req, res) => res.end("x".repeat(4096)),
  "/refused": (_req, res) => {
    res.writeHead(502, { "content-type": "text/html" })
    res.end(`<html>${"x".repeat(4096)}</html>`)
  },
  "/declared": (_req, res) => {
    // declares more than the cap and sends nothing yet: the cut cannot wait for the bytes
    res.writeHead(200, { "content-length": "1000000" })
    res.write("{")
  },
  "/chunked": (_req, res) => {
    res.write("part one, ")
    setTimeout(() => res.end("part two"), 20)
  },
  "/slow": () => undefined,
  "/reset": (req) => req.socket.destroy()
}
const server = createServer((req, res) => {
  arrived.push(req.url ?? "")
  req.socket.once("close", () => closed.push(req.url ?? ""))
  routes[req.url ?? ""]?.(req, res)
})
let origin = ""
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => {
  server.closeAllConnections()
  server.close()
})

const request = (path: string, extra: Partial<ExchangeRequest> = {}): ExchangeRequest => ({
  origin,
  path,
  method: "POST",
  headers: { authorization: "Bearer k", "content-type": "application/json" },
  body: '{"n":1}',
  timeoutMs: 2_000,
  maxBytes: 1_024,
  ...extra
})
const send = (agent: Agent, req: ExchangeRequest) =>
  new Promise<ExchangeResult>((resolve) => exchange(agent, req, resolve))

describe("a JSON request over the exchange (Http.requestJson)", () => {
  const limits = { timeoutMs: 2_000, maxBytes: 1_024 }
  it("a refusal with a long page fails by its status; a URL that is not one fails as the network", async () => {
    await expect(requestJson("GET", `${origin}/refused`, undefined, limits)).rejects.toMatchObject({
      failure: { reason: "http", status: 502 }
    })
    await expect(requestJson("GET", `${origin}/big`, undefined, limits)).rejects.toMatchObject({
      failure: { reason: "too-large" }
    })
    await expect(requestJson("GET", "not a url", undefined, limits)).rejects.toMatchObject({
      failure: { reason: "network" }
    })
  })
})

describe("one exchange over an undici dispatcher, without a body stream", () => {
  it("a reply: its status, its headers (lower-cased) and its whole body, in more than one chunk too", async () => {
    const agent = new Agent({ connections: 2 })
    const ok = await send(agent, request("/ok"))
    expect(ok).toMatchObject({ _tag: "Reply", status: 201 })
    if (ok._tag !== "Reply") throw new Error("no reply")
    expect(ok.headers["x-ratelimit-remaining"]).toBe("7")
    expect(JSON.parse(ok.text)).toEqual({ echoed: '{"n":1}', auth: "Bearer k" })
    expect(await send(agent, request("/chunked"))).toMatchObject({ text: "part one, part two" })
    await agent.close()
  })

  it("a body past the cap is cut off: too large, and the transfer stops", async () => {
    const agent = new Agent({ connections: 1 })
    expect(await send(agent, request("/big"))).toEqual({ _tag: "TooLarge", status: 200 })
    expect(await send(agent, request("/big", { maxBytes: 4_096 }))).toMatchObject({ _tag: "Reply" })
    // its status kept: a refusal with a long page is still a refusal
    expect(await send(agent, request("/refused"))).toEqual({ _tag: "TooLarge", status: 502 })
    const t0 = Date.now()
    expect(await send(agent, request("/declared", { timeoutMs: 1_500 }))).toEqual({
      _tag: "TooLarge",
      status: 200
    })
    expect(Date.now() - t0).toBeLessThan(1_000)
    await agent.close()
  })

  it("no reply by the deadline: timed out, and the connection is let go", async () => {
    const agent = new Agent({ connections: 1 })
    const t0 = Date.now()
    expect(await send(agent, request("/slow", { timeoutMs: 150 }))).toEqual({ _tag: "TimedOut" })
    expect(Date.now() - t0).toBeLessThan(1_500)
    await expect.poll(() => closed.includes("/slow")).toBe(true)
    await agent.close()
  })

  it("the deadline counts the wait for a connection: a request queued behind a hung one times out unsent", async () => {
    const agent = new Agent({ connections: 1 })
    const hung = send(agent, request("/slow", { timeoutMs: 600 }))
    const before = arrived.length
    expect(await send(agent, request("/ok", { timeoutMs: 100 }))).toEqual({ _tag: "TimedOut" })
    expect(await hung).toEqual({ _tag: "TimedOut" })
    await new Promise((r) => setTimeout(r, 100))
    expect(arrived.slice(before)).not.toContain("/ok")
    await agent.close()
  })

  it("a connection reset or refused is a failure with the transport's error", async () => {
    const agent = new Agent({ connections: 1 })
    const reset = await send(agent, request("/reset"))
    expect(reset._tag).toBe("Failed")
    const refused = await send(agent, request("/ok", { origin: "http://127.0.0.1:1" }))
    expect(refused).toMatchObject({ _tag: "Failed", error: { code: "ECONNREFUSED" } })
    await agent.close()
  })

  it("cancelled: nothing is reported and the request is let go", async () => {
    const agent = new Agent({ connections: 1 })
    const seen: ExchangeResult[] = []
    const slow = (log: string[]) => log.filter((u) => u === "/slow").length
    const [arrivedBefore, closedBefore] = [slow(arrived), slow(closed)]
    const cancel = exchange(agent, request("/slow", { timeoutMs: 300 }), (r) => seen.push(r))
    await expect.poll(() => slow(arrived)).toBeGreaterThan(arrivedBefore)
    cancel()
    await expect.poll(() => slow(closed)).toBeGreaterThan(closedBefore)
    await new Promise((r) => setTimeout(r, 400))
    expect(seen).toEqual([])
    await agent.close()
  })
})
