/**
 * The response cache in the state dir: one SQLite database (`cache.db`, Node's built-in
 * `node:sqlite`), shared by the processes of one machine (write-ahead log). The cache is best
 * effort: a read that fails is a miss, and a commit another process keeps out past a 1 s wait is
 * dropped (none is tried for 30 s), so a locked database never fails a run or blocks it long.
 * A get, a set and an eviction are index lookups, whatever the cache holds: an entry is found by
 * a number made of its key, its size is kept by triggers in one row, and eviction takes the least
 * recently used from an index on last use.
 * Like the other per-request state it is synchronous (see `SyncFiles.ts`).
 *
 * A cache written by an earlier runner (one JSON file per entry under two-character folders, or
 * the database's first schema) is taken in on first open (`CacheSchema.ts`): an upgrade pays for
 * no answer again.
 */

import { createRequire } from "node:module"
import { join, resolve } from "node:path"
import type { DatabaseSync, StatementSync } from "node:sqlite"
import { keyHash } from "./CacheKeyHash.ts"
import { CacheListing } from "./CacheListing.ts"
import { inTransaction, legacyEntries, migrate, takeIn } from "./CacheSchema.ts"
import * as SyncFiles from "./SyncFiles.ts"

export const DB_FILE = "cache.db"

/** One entry as stored: its body's JSON text, when it was written (Clock ms). */
export interface StoredEntry {
  readonly body: string
  readonly createdAtMs: number
}

export interface CacheUsage {
  readonly entries: number
  readonly bytes: number
}

/**
 * The database, its writes grouped: a set and a hit's use are held in memory and committed
 * together in one transaction at most `GROUP_MS` after the first of them waits (or at once when
 * `GROUP` answers wait, and before anything reads the whole table or closes it). A commit writes
 * every page its rows touch to the write-ahead log, and the keys are random: committed a turn of
 * the event loop at a time, a run of 30,000 misses spent a fifth of its main thread in commits.
 * A process killed before a commit loses those entries of the cache, never an answer: the run's
 * records hold every answer paid for. Another process sees them that much later.
 */
export interface CacheDb {
  /** The entry, from what waits to be written or from the database. */
  readonly get: (key: string) => StoredEntry | undefined
  readonly touch: (key: string, nowMs: number) => void
  readonly put: (key: string, body: string, nowMs: number) => void
  readonly remove: (key: string) => void
  /** The size, exact (what waits is written first). */
  readonly usage: () => CacheUsage
  /** The size as of the last commit plus what waits to be written (no IO; an upper bound). */
  readonly estimate: () => CacheUsage
  /** Removes the `n` least recently used entries; returns how many went. */
  readonly evictOldest: (n: number) => number
  /** The keys held now; until another process commits, a key not among them is a miss with no lookup. */
  readonly keys: () => ReadonlySet<string>
  /** Writes what waits, now. */
  readonly flush: () => void
}

/** `node:sqlite`, loaded on first use (Node 22 also prints that it is experimental: the CLI hides that line). */
const sqlite = (): typeof import("node:sqlite") =>
  createRequire(import.meta.url)("node:sqlite") as typeof import("node:sqlite")

interface Opened {
  readonly db: CacheDb
  readonly close: () => void
  /** Opened read-only (the dir could not be written, or another process held the lock past the wait). */
  readonly readOnly: boolean
  users: number
}
const opened = new Map<string, Opened>()
/** Paths kept open between users (`pinCacheDb`), with how many pins each has. */
const pins = new Map<string, number>()

/**
 * The cache database under `dir`, opened (created when missing) once per process however many
 * use it at once, and closed when the last lets go (`release`), unless it is pinned: a
 * long-lived process leaves no file open. Throws when the dir cannot hold it.
 */
export const cacheDbOf = (dir: string): { readonly db: CacheDb; readonly release: () => void } => {
  const path = resolve(dir)
  let entry = opened.get(path)
  if (entry === undefined) {
    entry = { ...openCacheDb(path), users: 0 }
    opened.set(path, entry)
  }
  entry.users++
  const held = entry
  let released = false
  return {
    db: held.db,
    release: () => {
      if (released) return
      released = true
      if (--held.users > 0) return
      // a read-only handle is not kept: the next user may open it writable
      if (!pins.has(path) || held.readOnly) return closeIdle(path)
      try {
        held.db.flush() // kept open, with nothing left waiting
      } catch {
        // best effort: the cache only saves a later run a request
      }
    }
  }
}

const closeIdle = (path: string): void => {
  const entry = opened.get(path)
  if (entry === undefined || entry.users > 0) return
  opened.delete(path)
  entry.close()
}

/**
 * Keeps the database under `dir` open between its users until the returned function is called
 * (a command's life): a run takes up the handle its plan let go, and with it the plan's listing
 * of the keys (`CacheListing`). Opens nothing itself.
 */
export const pinCacheDb = (dir: string): (() => void) => {
  const path = resolve(dir)
  pins.set(path, (pins.get(path) ?? 0) + 1)
  let unpinned = false
  return () => {
    if (unpinned) return
    unpinned = true
    const n = (pins.get(path) ?? 1) - 1
    if (n > 0) return void pins.set(path, n)
    pins.delete(path)
    closeIdle(path)
  }
}

const openCacheDb = (dir: string): Omit<Opened, "users"> => {
  const writable = openWritable(dir)
  const db = writable ?? openReadOnly(dir)
  let cache: CacheDb
  try {
    cache = statements(db)
  } catch (e) {
    db.close() // a read-only handle on a schema this runner cannot bring up to date
    throw e
  }
  return {
    db: cache,
    readOnly: writable === undefined,
    close: () => {
      try {
        cache.flush()
      } catch {
        // best effort: the cache only saves a later run a request
      } finally {
        db.close()
      }
    }
  }
}

/** The database, created when missing, with an earlier runner's files taken in; undefined when the dir is read-only. */
const openWritable = (dir: string): DatabaseSync | undefined => {
  let db: DatabaseSync | undefined
  try {
    SyncFiles.makeDir(dir)
    const legacy = legacyEntries(dir)
    db = new (sqlite().DatabaseSync)(join(dir, DB_FILE))
    // a wait for another process's commit blocks the event loop: kept short, and a failure is a miss
    db.exec("PRAGMA busy_timeout = 1000")
    db.exec("PRAGMA journal_mode = WAL")
    db.exec("PRAGMA synchronous = NORMAL")
    // a checkpoint syncs the database file, which blocks the event loop: one per ~40 MB of log, not
    // per 4 MB (SQLite's default), halves a run's time in commits; the log is cut back after it
    db.exec(`PRAGMA wal_autocheckpoint = ${CHECKPOINT_PAGES}`)
    db.exec("PRAGMA journal_size_limit = 67108864")
    // reads from memory-mapped pages, not a system call per page
    db.exec("PRAGMA mmap_size = 268435456")
    migrate(db)
    takeIn(db, dir, legacy)
    return db
  } catch (e) {
    db?.close()
    if (SyncFiles.exists(join(dir, DB_FILE))) return undefined
    throw e
  }
}

/** A database that cannot be written (a read-only state dir): its entries still hit. */
const openReadOnly = (dir: string): DatabaseSync => {
  const db = new (sqlite().DatabaseSync)(join(dir, DB_FILE), { readOnly: true })
  db.exec("PRAGMA busy_timeout = 1000")
  return db
}

/** Pages of write-ahead log that make a checkpoint (SQLite's default: 1,000). */
const CHECKPOINT_PAGES = 10_000
/** Writes waiting for a commit at once, at most. */
const GROUP = 1_024
/** How long the first write waiting for a commit waits, at most. */
export const GROUP_MS = 100
/** How long no commit is tried after one found the database locked past its wait. */
const PAUSE_MS = 30_000
/** Uses noted before they are folded into the entries even with no eviction (the table stays small). */
const FOLD_AFTER = 10_000

/** The statements the cache runs, prepared once per handle. */
const queriesOf = (db: DatabaseSync) => {
  const q = (sql: string): StatementSync => db.prepare(sql)
  return {
    select: q("SELECT body, created_at_ms AS createdAtMs FROM entries WHERE kh = ? AND key = ?"),
    // a hit is noted at the end of a small table (one append), not by rewriting its entry's row and
    // index; the notes are folded into the entries' last use before an eviction reads it
    use: q("INSERT INTO uses (kh, at_ms) VALUES (?, ?)"),
    foldUses: q(
      `UPDATE entries SET used_at_ms = u.at_ms FROM (SELECT kh, max(at_ms) AS at_ms FROM uses GROUP BY kh) AS u
       WHERE entries.kh = u.kh AND u.at_ms > entries.used_at_ms`
    ),
    dropUses: q("DELETE FROM uses"),
    put: q(
      `INSERT INTO entries (kh, key, created_at_ms, used_at_ms, size, body) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (kh) DO UPDATE SET key = excluded.key, created_at_ms = excluded.created_at_ms,
         used_at_ms = excluded.used_at_ms, size = excluded.size, body = excluded.body`
    ),
    remove: q("DELETE FROM entries WHERE kh = ? AND key = ?"),
    usage: q("SELECT entries, bytes FROM usage WHERE id = 0"),
    evict: q("DELETE FROM entries WHERE rowid IN (SELECT rowid FROM entries ORDER BY used_at_ms LIMIT ?)"),
    keys: q("SELECT key FROM entries"),
    // moves when another connection commits (never for this one's own)
    version: q("PRAGMA data_version")
  }
}

/** The writes waiting for the next commit: answers to store, and uses to note. */
class Waiting {
  readonly puts = new Map<string, { readonly body: string; readonly atMs: number; readonly size: number }>()
  readonly uses = new Map<string, number>()
  bytes = 0

  get empty(): boolean {
    return this.puts.size === 0 && this.uses.size === 0
  }

  put(key: string, body: string, atMs: number): void {
    const size = Buffer.byteLength(body)
    this.puts.set(key, { body, atMs, size })
    this.uses.delete(key)
    this.bytes += size
  }

  drop(): void {
    this.puts.clear()
    this.uses.clear()
    this.bytes = 0
  }
}

/**
 * The writes that wait, committed together: `GROUP_MS` after the first waits, at once when
 * `GROUP` answers wait, or when asked (`flush`). After a commit that could not be made (the lock
 * held past the wait), none is tried for `PAUSE_MS`: what waits is dropped rather than block the
 * event loop again (best effort). `committed`: the size as of the last commit.
 */
const groupCommits = (db: DatabaseSync, q: ReturnType<typeof queriesOf>, waiting: Waiting) => {
  const usageNow = () => q.usage.get() as unknown as CacheUsage
  const state: {
    committed: CacheUsage
    timer: ReturnType<typeof setTimeout> | undefined
    pausedUntil: number
    notes: number
  } = { committed: usageNow(), timer: undefined, pausedUntil: 0, notes: 0 }
  /** Uses folded into the entries' last use (before an eviction, or every `FOLD_AFTER` of them). */
  const fold = () => {
    q.foldUses.run()
    q.dropUses.run()
    state.notes = 0
  }
  const flush = () => {
    clearTimeout(state.timer)
    state.timer = undefined
    if (waiting.empty) return
    if (performance.now() < state.pausedUntil) return waiting.drop()
    try {
      inTransaction(db, () => {
        for (const [key, p] of waiting.puts) q.put.run(keyHash(key), key, p.atMs, p.atMs, p.size, p.body)
        for (const [key, at] of waiting.uses) q.use.run(keyHash(key), at)
        state.notes += waiting.uses.size
        if (state.notes >= FOLD_AFTER) fold()
      })
    } catch (e) {
      state.pausedUntil = performance.now() + PAUSE_MS
      throw e
    } finally {
      waiting.drop()
    }
    state.committed = usageNow()
  }
  const later = () => {
    // many answers waiting are written at once; uses never make a caller wait for a commit
    if (waiting.puts.size >= GROUP) return flush()
    if (state.timer !== undefined) return
    // held open for it, as it was for a turn: a short process that sets and ends keeps its entry
    state.timer = setTimeout(() => {
      try {
        flush()
      } catch {
        // best effort: the cache only saves a later run a request
      }
    }, GROUP_MS)
  }
  const usage = () => {
    flush()
    state.committed = usageNow()
    return state.committed
  }
  return { flush, later, fold, usage, committed: () => state.committed }
}

const statements = (db: DatabaseSync): CacheDb => {
  const q = queriesOf(db)
  const waiting = new Waiting()
  const commits = groupCommits(db, q, waiting)
  const { flush, later } = commits
  const versionNow = () => Number((q.version.get() as { data_version: number }).data_version)
  let listing: CacheListing | undefined
  return {
    get: (key) => {
      const p = waiting.puts.get(key)
      if (p !== undefined) return { body: p.body, createdAtMs: p.atMs }
      if (listing?.surelyAbsent(key, performance.now())) return undefined
      return q.select.get(keyHash(key), key) as StoredEntry | undefined
    },
    touch: (key, nowMs) => {
      waiting.uses.set(key, nowMs)
      later()
    },
    put: (key, body, nowMs) => {
      waiting.put(key, body, nowMs)
      listing?.wrote(key)
      later()
    },
    remove: (key) => {
      waiting.puts.delete(key)
      waiting.uses.delete(key)
      q.remove.run(keyHash(key), key)
    },
    usage: commits.usage,
    estimate: () => ({
      entries: commits.committed().entries + waiting.puts.size,
      bytes: commits.committed().bytes + waiting.bytes
    }),
    evictOldest: (n) => {
      flush()
      return inTransaction(db, () => {
        commits.fold()
        return Number(q.evict.run(n).changes)
      })
    },
    keys: () => {
      flush()
      const version = versionNow()
      const keys = new Set((q.keys.all() as Array<{ key: string }>).map((r) => r.key))
      listing = new CacheListing(keys, version, versionNow, performance.now())
      return keys
    },
    flush
  }
}
