/**
 * The response cache at 100,000 entries (`pnpm bench cache`): a set and a get, and what a new
 * process pays for its first set, with the size index (`usage.json`) beside the directory scan
 * it replaces (the same cache with the index removed), in one run.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { makeFile } from "@tollgate/core/ResponseCache"
import { Effect } from "effect"

type Record = (name: string, value: string, detail: string) => void

const key = (i: number) => i.toString(16).padStart(64, "0")

export const cacheBench = (record: Record, n = 100_000) => {
  const dir = mkdtempSync(join(tmpdir(), "tg-cache-bench-"))
  const body = { choices: [{ message: { content: "x".repeat(300) } }], usage: { prompt_tokens: 10 } }
  const fill = makeFile(dir, { maxEntries: n * 2 })
  let t = performance.now()
  for (let i = 0; i < n; i++) Effect.runSync(fill.set(key(i), body))
  const setUs = ((performance.now() - t) * 1000) / n
  const reader = makeFile(dir, { maxEntries: n * 2 })
  t = performance.now()
  for (let i = 0; i < 2_000; i++) Effect.runSync(reader.get(key((i * 7919) % n)))
  const getUs = ((performance.now() - t) * 1000) / 2_000
  record(
    "cache set / get at 100k entries",
    `${setUs.toFixed(0)} / ${getUs.toFixed(0)} µs`,
    `${n} entries of ~400 bytes, one file each`
  )
  // a new process's first set: one read of the index, or a scan of every entry without it
  const first = () => {
    const c = makeFile(dir, { maxEntries: n * 2 })
    const t0 = performance.now()
    Effect.runSync(c.set(key(n + Math.floor(Math.random() * 1e9)), body))
    return performance.now() - t0
  }
  const indexed = first()
  rmSync(join(dir, "usage.json"), { force: true })
  const scanned = first()
  record(
    "cache first set in a new process",
    `${indexed.toFixed(1)} ms`,
    `vs ${scanned.toFixed(0)} ms scanning the directory (the index removed), ${n} entries`
  )
  rmSync(dir, { recursive: true, force: true })
}
