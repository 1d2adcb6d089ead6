/**
 * Keeps a long run's memory near what it holds. A run holds little (what is in flight, and what
 * its summary needs: ~50 MB at 100,000 items), but V8 lets garbage pile up to several times that
 * before a full collection, because a run allocates fast: 100,000 items reached ~400 MB. This
 * asks for a full collection once the heap in use is twice what the last one left (and 64 MB
 * more), checked ten times a second; a collection of ~50 MB takes ~20-30 ms.
 *
 * The collector is reached the way test runners reach it (`--expose-gc` set at run time, `gc`
 * taken from a new context), so no flag is needed on the command line. Where that fails, nothing
 * is done. Only the CLI's process does this: a library caller owns its own process.
 */
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"

const EVERY_MS = 100
const MIN_GROWTH = 64 * 1024 * 1024

/** The threshold after a collection that left `live` bytes in use. */
export const nextThreshold = (live: number): number => Math.max(2 * live, live + MIN_GROWTH)

const collector = (): (() => void) | undefined => {
  try {
    setFlagsFromString("--expose-gc")
    const gc: unknown = runInNewContext("gc")
    return typeof gc === "function" ? (gc as () => void) : undefined
  } catch {
    return undefined
  }
}

/** Starts the bound for this process (a timer that never keeps it alive). */
export const start = (): void => {
  const gc = collector()
  if (gc === undefined) return
  let threshold = nextThreshold(process.memoryUsage().heapUsed)
  setInterval(() => {
    if (process.memoryUsage().heapUsed < threshold) return
    gc()
    threshold = nextThreshold(process.memoryUsage().heapUsed)
  }, EVERY_MS).unref()
}
