/**
 * A cross-process lock on a file path (`<path>.lock`, created with O_EXCL, holding the holder's
 * pid and host). A lock whose holder is no longer running (killed, crashed) is stale and is taken
 * over at once: staleness is decided by pid, not by age. A lock naming this very process (a pid
 * reused after a restart, as in containers) is stale too; one from another host is never judged
 * stale from here. Breaking a stale lock is itself done under a short `.break` lock, so two
 * processes never both take it over.
 */
import { hostname } from "node:os"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as SyncFiles from "./SyncFiles.ts"

/** This machine, as locks name it. */
const HOST = hostname()

export interface LockOptions {
  readonly timeoutMs?: number
}

export class LockTimeout extends Data.TaggedError("LockTimeout")<{ readonly message: string }> {}

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

interface Holder {
  readonly pid: number
  readonly host: string
}

const holderOf = (lockPath: string): Holder | undefined => {
  try {
    const [pid = "", host = HOST] = (SyncFiles.readText(lockPath) ?? "").split(" ")
    const n = Number.parseInt(pid, 10)
    return Number.isNaN(n) ? undefined : { pid: n, host }
  } catch {
    return undefined
  }
}

/** Locks this process holds now (its own pid in any other lock file is a previous process's). */
const held = new Set<string>()

/** Gone: a dead pid on this host, or this process's own pid in a lock it did not take. */
const isStale = (lockPath: string, h: Holder): boolean =>
  h.host === HOST && (h.pid === process.pid ? !held.has(lockPath) : !processAlive(h.pid))

const create = (lockPath: string): boolean => SyncFiles.createExclusive(lockPath, `${process.pid} ${HOST}`)

const remove = (path: string): void => {
  try {
    SyncFiles.remove(path)
  } catch {
    // gone meanwhile
  }
}

/** Removes the lock if it still names this stale holder, under a `.break` lock (itself broken after 10 s). */
const breakStale = (lockPath: string, stale: Holder, nowMs: number): void => {
  const breaker = `${lockPath}.break`
  if (!create(breaker)) {
    try {
      const st = SyncFiles.stat(breaker)
      if (st !== undefined && nowMs - st.mtimeMs > 10_000) remove(breaker)
    } catch {
      // gone meanwhile
    }
    return
  }
  const now = holderOf(lockPath)
  if (now !== undefined && now.pid === stale.pid && now.host === stale.host) remove(lockPath)
  remove(breaker)
}

/**
 * Takes the lock at `lockPath` unless a running process holds it: `{ ok: true }`, or the
 * holder's pid. A lock left by a dead process is removed and taken. `nowMs`: the time (from
 * `Clock`), to judge a `.break` lock left by a process killed while breaking a stale lock.
 */
export const tryLock = (
  lockPath: string,
  nowMs: number
): { readonly ok: true } | { readonly ok: false; readonly holder: number } => {
  for (let tries = 0; tries < 3; tries++) {
    if (create(lockPath)) {
      held.add(lockPath)
      return { ok: true }
    }
    const holder = holderOf(lockPath)
    // a holder still writing its pid counts as running
    if (holder === undefined || !isStale(lockPath, holder)) return { ok: false, holder: holder?.pid ?? 0 }
    breakStale(lockPath, holder, nowMs)
  }
  return { ok: false, holder: holderOf(lockPath)?.pid ?? 0 }
}

/** Releases a lock this process holds (and only then). */
export const unlock = (lockPath: string): void => {
  if (!held.delete(lockPath)) return
  const h = holderOf(lockPath)
  if (h !== undefined && h.pid === process.pid && h.host === HOST) remove(lockPath)
}

/** Takes the lock, waiting (1 ms doubling to 25 ms, jittered) while a running process holds it, up to `timeoutMs`. */
const acquire = Effect.fn("FileLock.acquire")(function* (path: string, lockPath: string, timeoutMs: number) {
  const deadline = (yield* Clock.currentTimeMillis) + timeoutMs
  let wait = 1
  for (;;) {
    const now = yield* Clock.currentTimeMillis
    const taken = tryLock(lockPath, now)
    if (taken.ok) return
    if (now > deadline)
      return yield* new LockTimeout({
        message: `${path} is locked by process ${taken.holder}, still running after ${timeoutMs / 1000} s; if it is stuck, stop it`
      })
    yield* Effect.sleep(wait + (yield* Random.next) * wait)
    wait = Math.min(wait * 2, 25)
  }
})

/** Runs `use` holding the lock on `path` (`<path>.lock`), released however `use` ends. */
export const withFileLock = <A, E, R>(
  path: string,
  use: Effect.Effect<A, E, R>,
  opts: LockOptions = {}
): Effect.Effect<A, E | LockTimeout, R> => {
  const lockPath = `${path}.lock`
  return Effect.acquireUseRelease(
    acquire(path, lockPath, opts.timeoutMs ?? 10_000),
    () => use,
    () => Effect.sync(() => unlock(lockPath))
  )
}
