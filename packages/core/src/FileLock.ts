/**
 * A cross-process lock on a file path (`<path>.lock`, created with O_EXCL, holding the holder's
 * pid). A lock whose holder is no longer running (killed, crashed) is stale and is taken over at
 * once: staleness is decided by pid, not by age.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs"
import { setTimeout as sleep } from "node:timers/promises"

export interface LockOptions {
  readonly timeoutMs?: number
}

export class LockTimeout extends Error {
  override readonly name = "LockTimeout"
}

/** Whether a process with this pid is running (EPERM: running, as another user). */
export const processAlive = (pid: number): boolean => {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

const holderOf = (lockPath: string): number | undefined => {
  try {
    const pid = Number.parseInt(readFileSync(lockPath, "utf8"), 10)
    return Number.isNaN(pid) ? undefined : pid
  } catch {
    return undefined
  }
}

/**
 * Takes the lock at `lockPath` unless a running process holds it: `{ ok: true }`, or the
 * holder's pid. A lock left by a dead process is removed and taken.
 */
export const tryLock = (
  lockPath: string
): { readonly ok: true } | { readonly ok: false; readonly holder: number } => {
  for (let tries = 0; tries < 3; tries++) {
    try {
      const fd = openSync(lockPath, "wx")
      writeSync(fd, String(process.pid))
      closeSync(fd)
      return { ok: true }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
    }
    const holder = holderOf(lockPath)
    // a holder still writing its pid counts as running
    if (holder === undefined || processAlive(holder)) return { ok: false, holder: holder ?? 0 }
    try {
      unlinkSync(lockPath) // stale: its holder is gone
    } catch {
      // another process took it over first
    }
  }
  return { ok: false, holder: holderOf(lockPath) ?? 0 }
}

/** Releases a lock this process holds (and only then). */
export const unlock = (lockPath: string): void => {
  if (holderOf(lockPath) !== process.pid) return
  try {
    unlinkSync(lockPath)
  } catch {
    // already gone
  }
}

/** Runs `f` while holding the lock on `path`, waiting for a running holder up to `timeoutMs`. */
export const withFileLock = async <A>(
  path: string,
  f: () => A | Promise<A>,
  opts: LockOptions = {}
): Promise<A> => {
  const lockPath = `${path}.lock`
  const timeoutMs = opts.timeoutMs ?? 10_000
  const deadline = Date.now() + timeoutMs
  let wait = 1
  for (;;) {
    const taken = tryLock(lockPath)
    if (taken.ok) break
    if (Date.now() > deadline)
      throw new LockTimeout(
        `${path} is locked by process ${taken.holder}, still running after ${timeoutMs / 1000} s; if it is stuck, stop it`
      )
    await sleep(wait + Math.random() * wait)
    wait = Math.min(wait * 2, 25)
  }
  try {
    return await f()
  } finally {
    unlock(lockPath)
  }
}
