/**
 * A lean OpenAI-compatible server for `pnpm bench http`: answers every chat completion at once
 * with a fixed reply and usage, and tells `GET /stats` how many it answered and when the first
 * and last arrived, and the gaps between arrivals. It runs in its own process, so the client under test (a raw undici loop or
 * the runner) has the other core, and both meet the same server.
 */
import { createServer } from "node:http"

let count = 0
let first = 0
let last = 0
let arrivals: number[] = []
/** The gaps between consecutive arrivals (one at a time: a round trip plus the client's own time), p50 and p99. */
const gaps = (): [number, number] => {
  const d = arrivals.slice(1).map((t, i) => t - arrivals[i]!)
  d.sort((a, b) => a - b)
  const q = (p: number) => d[Math.min(d.length - 1, Math.floor(p * d.length))] ?? 0
  return [q(0.5), q(0.99)]
}
const reply = (id: number, model: string) =>
  JSON.stringify({
    id: `gen-${id}`,
    object: "chat.completion",
    created: 1_764_800_000,
    model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: `Answer ${id}: a short summary.` },
        finish_reason: "stop"
      }
    ],
    usage: { prompt_tokens: 42, completion_tokens: 9, total_tokens: 51 }
  })

const server = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/stats") {
    res.writeHead(200, { "content-type": "application/json" })
    res.end(JSON.stringify({ count, first, last, gaps: gaps() }))
    return
  }
  if (req.method === "POST" && req.url === "/reset") {
    count = 0
    first = 0
    last = 0
    arrivals = []
    res.end("{}")
    return
  }
  const chunks: Buffer[] = []
  req.on("data", (c: Buffer) => chunks.push(c))
  req.on("end", () => {
    const now = performance.timeOrigin + performance.now()
    if (count === 0) first = now
    last = now
    count++
    if (arrivals.length < 100_000) arrivals.push(now)
    let model = "openai/gpt-4o-mini"
    try {
      model = JSON.parse(Buffer.concat(chunks).toString("utf8")).model ?? model
    } catch {}
    const body = reply(count, model)
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
    res.end(body)
  })
})
server.keepAliveTimeout = 60_000
server.listen(0, "127.0.0.1", () => {
  const address = server.address()
  process.stdout.write(`${typeof address === "object" && address ? address.port : 0}\n`)
})
