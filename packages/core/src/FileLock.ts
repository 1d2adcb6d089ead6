/**
 * A cross-process lock on a file path (`<path>.lock`, created with O_EXCL). Holders are short
 * (a read-modify-write of a small JSON file); a lock older than `staleMs` is from a crashed
 * process and is broken.
 */
import { closeSync, openSync, statSync, unlinkSync, writeSync } from "node:fs"
import { setTimeout as sleep } from "node:timers/promises"

export interface LockOptions {
  readonly timeoutMs?: number
  readonly staleMs?: number
}

export class LockTimeout extends Error {
  override readonly name = "LockTimeout"
}

const tryAcquire = (lockPath: string, staleMs: number): boolean => {
  try {
    const fd = openSync(lockPath, "wx")
    writeSync(fd, String(process.pid))
    closeSync(fd)
    return true
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
    try {
      if (Date.now() - statSync(lockPath).mtimeMs > staleMs) unlinkSync(lockPath)
    } catch {
      // gone already: retry
    }
    return false
  }
}

/** Runs `f` while holding the lock on `path`. */
export const withFileLock = async <A>(
  path: string,
  f: () => A | Promise<A>,
  opts: LockOptions = {}
): Promise<A> => {
  const lockPath = `${path}.lock`
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000)
  const staleMs = opts.staleMs ?? 30_000
  let wait = 1
  while (!tryAcquire(lockPath, staleMs)) {
    if (Date.now() > deadline)
      throw new LockTimeout(`could not lock ${path} within ${opts.timeoutMs ?? 10_000} ms`)
    await sleep(wait + Math.random() * wait)
    wait = Math.min(wait * 2, 25)
  }
  try {
    return await f()
  } finally {
    try {
      unlinkSync(lockPath)
    } catch {
      // broken as stale by another process; nothing to release
    }
  }
}
