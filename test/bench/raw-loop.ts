/**
 * The baseline of `pnpm bench http`: a raw undici loop, `node raw-loop.ts URL N CONCURRENCY`,
 * sending N chat completions with the body the runner sends, CONCURRENCY in flight, over one
 * keep-alive pool, each reply read and parsed. Prints `{ ms, latency: [p50, p99] }` as JSON.
 */
import { performance } from "node:perf_hooks"
import { Agent, request } from "undici"

const [url, nArg, cArg] = process.argv.slice(2)
const n = Number(nArg)
const concurrency = Number(cArg)
const agent = new Agent({ connections: concurrency, keepAliveTimeout: 30_000, pipelining: 1 })
const headers = {
  "content-type": "application/json",
  accept: "application/json",
  authorization: "Bearer sk-bench"
}
const latencies: number[] = []
let next = 0
const one = async (i: number) => {
  const body = JSON.stringify({
    model: "openai/gpt-4o-mini",
    messages: [{ role: "user", content: `Say something about item number ${i}` }],
    max_tokens: 50
  })
  const t0 = performance.now()
  const res = await request(`${url}/chat/completions`, { method: "POST", dispatcher: agent, headers, body })
  const reply = JSON.parse(await res.body.text()) as { choices: Array<{ message: { content: string } }> }
  if (res.statusCode !== 200 || typeof reply.choices[0]?.message.content !== "string")
    throw new Error("bad reply")
  latencies.push(performance.now() - t0)
}
const worker = async () => {
  while (next < n) await one(next++)
}
const t0 = performance.now()
await Promise.all(Array.from({ length: concurrency }, worker))
const ms = performance.now() - t0
latencies.sort((a, b) => a - b)
const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!
process.stdout.write(`${JSON.stringify({ ms, latency: [q(0.5), q(0.99)] })}\n`)
await agent.close()
