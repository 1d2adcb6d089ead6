/**
 * The response cache at 1k / 10k / 100k entries (`pnpm bench cache`): a set, a get (a hit), a
 * miss, a set that evicts (the cache held at its cap), what a new process pays for its first set,
 * and the plan's listing of the keys. O(1)-ish means the per-operation figures stay flat as the
 * cache grows.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { makeFile } from "@tollgate/core/ResponseCache"
import { Effect } from "effect"

type Record = (name: string, value: string, detail: string) => void

const key = (i: number) => i.toString(16).padStart(64, "0")
const body = { choices: [{ message: { content: "x".repeat(300) } }], usage: { prompt_tokens: 10 } }

/** Microseconds per call of `f` over `n` calls. */
const perCall = (n: number, f: (i: number) => void): number => {
  const t = performance.now()
  for (let i = 0; i < n; i++) f(i)
  return ((performance.now() - t) * 1000) / n
}

const atSize = (n: number) => {
  const dir = mkdtempSync(join(tmpdir(), "tg-cache-bench-"))
  const fill = makeFile(dir, { maxEntries: n })
  const setUs = perCall(n, (i) => Effect.runSync(fill.set(key(i), body)))
  const getUs = perCall(2_000, (i) => Effect.runSync(fill.get(key((i * 7919) % n))))
  const missUs = perCall(2_000, (i) => Effect.runSync(fill.get(key(n + i))))
  // at its cap: each set past it evicts (a tenth at a time, the least recently used first)
  const evictUs = perCall(2_000, (i) => Effect.runSync(fill.set(key(2 * n + i), body)))
  fill.close()
  const t0 = performance.now()
  const next = makeFile(dir, { maxEntries: n })
  Effect.runSync(next.set(key(3 * n), body))
  const firstMs = performance.now() - t0
  const t1 = performance.now()
  const listed = Effect.runSync(next.keys).size
  const keysMs = performance.now() - t1
  next.close()
  rmSync(dir, { recursive: true, force: true })
  return { setUs, getUs, missUs, evictUs, firstMs, keysMs, listed }
}

export const cacheBench = (record: Record, sizes: ReadonlyArray<number> = [1_000, 10_000, 100_000]) => {
  for (const n of sizes) {
    const r = atSize(n)
    record(
      `cache at ${n.toLocaleString("en")} entries: set / hit / miss / set that evicts`,
      `${r.setUs.toFixed(0)} / ${r.getUs.toFixed(0)} / ${r.missUs.toFixed(0)} / ${r.evictUs.toFixed(0)} µs`,
      `~400-byte replies in one SQLite file; a new process's first set ${r.firstMs.toFixed(1)} ms; the plan's key listing ${r.keysMs.toFixed(0)} ms (${r.listed} keys)`
    )
  }
}
