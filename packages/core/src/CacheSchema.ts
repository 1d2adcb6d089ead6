/**
 * The cache database's shape, and how a database of an earlier shape is brought to it: the
 * current schema (an entry found by a number made of its key), the first schema's entries copied
 * into it (`PRAGMA user_version` 0 to 1), and the one-file-per-entry cache of an earlier runner
 * taken in. Each step is one short transaction.
 */
import { basename, join } from "node:path"
import type { DatabaseSync } from "node:sqlite"
import { entryBody } from "./CacheEntry.ts"
import { keyHash } from "./CacheKeyHash.ts"
import * as SyncFiles from "./SyncFiles.ts"

/**
 * An entry is found by `kh`, a number made of its key's first 52 bits (`CacheKeyHash.ts`), and checked
 * against its whole key. The keys are random: an index of whole keys (64 characters each, as the
 * schema of version 0 had) spread a group's rows over so many pages that a commit wrote one page
 * per row at 100,000 entries; an index of numbers takes a sixth of the pages. Two keys that share
 * a number (once in ~10^4 caches of a million entries) share a row: the later replaces the
 * earlier, and a read of the earlier is a miss.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS entries (
  kh INTEGER NOT NULL UNIQUE,
  key TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  used_at_ms INTEGER NOT NULL,
  size INTEGER NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_by_use ON entries (used_at_ms);
CREATE TABLE IF NOT EXISTS uses (kh INTEGER NOT NULL, at_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS usage (id INTEGER PRIMARY KEY CHECK (id = 0), entries INTEGER NOT NULL, bytes INTEGER NOT NULL);
INSERT OR IGNORE INTO usage VALUES (0, 0, 0);
CREATE TRIGGER IF NOT EXISTS entry_added AFTER INSERT ON entries BEGIN
  UPDATE usage SET entries = entries + 1, bytes = bytes + NEW.size WHERE id = 0;
END;
CREATE TRIGGER IF NOT EXISTS entry_removed AFTER DELETE ON entries BEGIN
  UPDATE usage SET entries = entries - 1, bytes = bytes - OLD.size WHERE id = 0;
END;
CREATE TRIGGER IF NOT EXISTS entry_replaced AFTER UPDATE OF size ON entries BEGIN
  UPDATE usage SET bytes = bytes + NEW.size - OLD.size WHERE id = 0;
END;
`
const SCHEMA_VERSION = 1

/**
 * The schema made or brought up to date in one transaction: the entries of a version-0 cache
 * (keyed by whole keys) are copied into the current table, then its tables dropped.
 */
export const migrate = (db: DatabaseSync): void => {
  const version = () =>
    Number((db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version)
  if (version() >= SCHEMA_VERSION) return
  inTransaction(db, () => {
    if (version() >= SCHEMA_VERSION) return // another process brought it up meanwhile
    const old = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'entries'").get()
    if (old !== undefined) {
      for (const t of ["entry_added", "entry_removed", "entry_replaced"])
        db.exec(`DROP TRIGGER IF EXISTS ${t}`)
      db.exec("DROP INDEX IF EXISTS entries_by_use; DROP TABLE IF EXISTS uses; DROP TABLE IF EXISTS usage")
      db.exec("ALTER TABLE entries RENAME TO entries_v0")
    }
    db.exec(SCHEMA)
    if (old !== undefined) {
      const rows = db
        .prepare(
          "SELECT key, created_at_ms AS createdAtMs, used_at_ms AS usedAtMs, size, body FROM entries_v0"
        )
        .iterate()
      copyIn(db, rows as Iterable<EarlierEntry>)
      db.exec("DROP TABLE entries_v0")
    }
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`)
  })
}

/** An entry as an earlier cache kept it. */
interface EarlierEntry {
  readonly key: string
  readonly createdAtMs: number
  readonly usedAtMs: number
  readonly body: string
  /** Its body's bytes, when the earlier cache kept them. */
  readonly size?: number
}

/** Earlier entries written into the current table, each under its number; a key already there keeps its entry. */
const copyIn = (db: DatabaseSync, entries: Iterable<EarlierEntry>): void => {
  const put = db.prepare(
    "INSERT OR IGNORE INTO entries (kh, key, created_at_ms, used_at_ms, size, body) VALUES (?, ?, ?, ?, ?, ?)"
  )
  for (const e of entries)
    put.run(keyHash(e.key), e.key, e.createdAtMs, e.usedAtMs, e.size ?? Buffer.byteLength(e.body), e.body)
}

/** Runs `f` in one write transaction: committed, or rolled back and thrown. */
export const inTransaction = <A>(db: DatabaseSync, f: () => A): A => {
  db.exec("BEGIN IMMEDIATE")
  try {
    const a = f()
    db.exec("COMMIT")
    return a
  } catch (e) {
    db.exec("ROLLBACK")
    throw e
  }
}

export interface LegacyFiles {
  readonly shards: ReadonlyArray<string>
  readonly paths: ReadonlyArray<string>
  readonly entries: ReadonlyArray<NonNullable<ReturnType<typeof legacyEntry>>>
}

/** Entries an earlier runner wrote as files (`<dir>/<2 hex>/<key>.json`), read before any lock is taken. */
export const legacyEntries = (dir: string): LegacyFiles | undefined => {
  const shards = SyncFiles.list(dir).filter((s) => /^[0-9a-f]{2}$/.test(s))
  if (shards.length === 0) return undefined
  const paths: string[] = []
  const entries: Array<NonNullable<ReturnType<typeof legacyEntry>>> = []
  for (const shard of shards)
    for (const name of SyncFiles.list(join(dir, shard))) {
      const path = join(dir, shard, name)
      const entry = legacyEntry(path, basename(name, ".json"))
      if (entry !== undefined) entries.push(entry)
      paths.push(path)
    }
  return { shards, paths, entries }
}

/** The earlier runner's entries written in one short transaction, then its files removed. */
export const takeIn = (db: DatabaseSync, dir: string, legacy: LegacyFiles | undefined): void => {
  if (legacy === undefined) return
  inTransaction(db, () => copyIn(db, legacy.entries))
  for (const path of legacy.paths) SyncFiles.remove(path)
  for (const shard of legacy.shards) SyncFiles.removeAll(join(dir, shard))
  SyncFiles.remove(join(dir, "usage.json"))
}

/** An earlier runner's entry file, when it is intact. */
const legacyEntry = (path: string, key: string) => {
  const entry = entryBody(SyncFiles.readText(path) ?? "", key)
  if (entry === undefined) return undefined
  return {
    key,
    createdAtMs: entry.createdAtMs,
    usedAtMs: SyncFiles.stat(path)?.mtimeMs ?? entry.createdAtMs,
    body: JSON.stringify(entry.body)
  }
}
