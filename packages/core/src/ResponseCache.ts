/**
 * Replies keyed by everything that shapes them (base URL, model or fallback list, messages,
 * parameters) and never by the API key. Errors are never cached. A hit costs $0 and no quota.
 * Default store: one JSON file per entry in the state dir, written atomically; a damaged entry
 * is ignored, reported and removed. Size is capped (bytes and entries) with least-recently-used
 * eviction: a read touches the entry's mtime.
 */
import { basename, join } from "node:path"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { canonicalJson, sha256 } from "./Fingerprint.ts"
import type { StoreLost } from "./StoreLost.ts"
import * as SyncFiles from "./SyncFiles.ts"

/** Body fields that do not change the reply. */
const NON_SEMANTIC = new Set(["usage", "stream", "user"])

/** The cache key of a chat request: sha256 over base URL and the canonical body. */
export const cacheKey = (baseUrl: string, body: Readonly<Record<string, unknown>>): string => {
  const semantic = Object.fromEntries(Object.entries(body).filter(([k]) => !NON_SEMANTIC.has(k)))
  return sha256(canonicalJson({ v: 1, base_url: baseUrl.replace(/\/+$/, ""), body: semantic }))
}

export interface CacheOptions {
  /** Entries older than this are misses (ms); undefined: no expiry. */
  readonly ttlMs?: number | undefined
  readonly maxBytes?: number | undefined
  readonly maxEntries?: number | undefined
}
export const DEFAULT_MAX_BYTES = 512 * 1024 * 1024
export const DEFAULT_MAX_ENTRIES = 100_000

export interface CacheStats {
  readonly hits: number
  readonly misses: number
  readonly writes: number
  readonly corrupt: number
  readonly evicted: number
}

export interface ResponseCacheShape {
  /** The cached reply body, or undefined (miss, expired, or damaged); fails when a shared store is lost. */
  readonly get: (key: string) => Effect.Effect<unknown | undefined, StoreLost>
  /** Whether `get` would hit, without touching recency (plan uses this). */
  readonly has: (key: string) => Effect.Effect<boolean, StoreLost>
  readonly set: (key: string, body: unknown) => Effect.Effect<void, StoreLost>
  readonly stats: Effect.Effect<CacheStats>
  /** The keys present now (possibly expired): lets a caller skip lookups that cannot hit. */
  readonly keys: Effect.Effect<ReadonlySet<string>>
}

export class ResponseCache extends Context.Service<ResponseCache, ResponseCacheShape>()(
  "@tollgate/core/ResponseCache"
) {
  static readonly layerMemory = (opts: CacheOptions = {}) => Layer.sync(ResponseCache, () => makeMemory(opts))
  static readonly layerFile = (dir: string, opts: CacheOptions = {}) =>
    Layer.sync(ResponseCache, () => makeFile(dir, opts))
  /** A cache that never hits and stores nothing (`--no-cache`). */
  static readonly layerDisabled = Layer.succeed(ResponseCache, {
    get: () => Effect.succeed(undefined),
    has: () => Effect.succeed(false),
    set: () => Effect.void,
    stats: Effect.succeed({ hits: 0, misses: 0, writes: 0, corrupt: 0, evicted: 0 }),
    keys: Effect.succeed(new Set<string>())
  })
}

const mutableStats = () => ({ hits: 0, misses: 0, writes: 0, corrupt: 0, evicted: 0 })

export const makeMemory = (opts: CacheOptions = {}): ResponseCacheShape => {
  const entries = new Map<string, { at: number; body: unknown }>()
  const stats = mutableStats()
  const fresh = (key: string, now: number) => {
    const e = entries.get(key)
    return e !== undefined && (opts.ttlMs === undefined || now - e.at <= opts.ttlMs) ? e : undefined
  }
  return {
    get: (key) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const e = fresh(key, now)
        if (e === undefined) {
          stats.misses++
          return undefined
        }
        stats.hits++
        entries.delete(key)
        entries.set(key, e) // most recently used last
        return e.body
      }),
    has: (key) => Effect.map(Clock.currentTimeMillis, (now) => fresh(key, now) !== undefined),
    set: (key, body) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        entries.delete(key)
        entries.set(key, { at: now, body })
        stats.writes++
        const max = opts.maxEntries ?? DEFAULT_MAX_ENTRIES
        while (entries.size > max) {
          entries.delete(entries.keys().next().value!)
          stats.evicted++
        }
      }),
    stats: Effect.sync(() => ({ ...stats })),
    keys: Effect.sync(() => new Set(entries.keys()))
  }
}

/** One stored entry (a file, or a Redis value), decoded before use: anything else is a damaged entry. */
export const CacheEntry = Schema.Struct({
  v: Schema.Literal(1),
  key: Schema.String,
  created_at_ms: Schema.Number,
  body: Schema.Unknown
})
export type CacheEntry = typeof CacheEntry.Type
const decodeEntry = Schema.decodeUnknownOption(Schema.fromJsonString(CacheEntry))

/** The body of a stored entry's text when it decodes and is the entry for `key`; undefined when damaged. */
export const entryBody = (
  text: string,
  key: string
): { readonly body: unknown; readonly createdAtMs: number } | undefined => {
  const entry = Option.getOrUndefined(decodeEntry(text))
  return entry !== undefined && entry.key === key
    ? { body: entry.body, createdAtMs: entry.created_at_ms }
    : undefined
}

export const entryPath = (dir: string, key: string): string => join(dir, key.slice(0, 2), `${key}.json`)

/** Paths of every entry file under a cache dir (`<dir>/<shard>/<key>.json`). */
const entryPaths = (dir: string): string[] => {
  const out: string[] = []
  for (const shard of listDir(dir))
    for (const name of listDir(join(dir, shard))) if (name.endsWith(".json")) out.push(join(dir, shard, name))
  return out
}

const listDir = (dir: string): string[] => {
  try {
    return SyncFiles.list(dir)
  } catch {
    return []
  }
}

interface EntryFile {
  readonly path: string
  readonly size: number
  readonly mtimeMs: number
}

const statEntries = (dir: string): EntryFile[] =>
  entryPaths(dir).flatMap((path) => {
    try {
      const st = SyncFiles.stat(path)
      return st === undefined ? [] : [{ path, ...st }] // else removed meanwhile
    } catch {
      return []
    }
  })

/** Recency is the entry file's mtime, set from `Clock` on write and on every hit. */
const touch = (path: string, nowMs: number) => {
  try {
    SyncFiles.touch(path, nowMs)
  } catch {
    // evicted meanwhile: still a hit for this read
  }
}

/** The cache's size as last known (`<dir>/usage.json`): entries and bytes, so a process need not scan to learn it. */
const usageFile = (dir: string) => join(dir, "usage.json")

interface Usage {
  readonly bytes: number
  readonly entries: number
}

const readUsage = (dir: string): Usage | undefined => {
  try {
    const u = JSON.parse(SyncFiles.readText(usageFile(dir)) ?? "{}") as Partial<Usage>
    return Number.isFinite(u.bytes) && Number.isFinite(u.entries)
      ? { bytes: Math.max(0, u.bytes as number), entries: Math.max(0, u.entries as number) }
      : undefined
  } catch {
    return undefined
  }
}

const writeUsage = (dir: string, u: Usage) => {
  try {
    SyncFiles.writeAtomic(usageFile(dir), JSON.stringify(u))
  } catch {
    // best effort: the next process scans instead
  }
}

/** Writes between two updates of `usage.json` by one process. */
const USAGE_EVERY = 64

/**
 * Keeps a file cache within its caps: over one, drops least recently used down to 90% of both.
 * The size is kept in `usage.json` (each process adds what it wrote, every 64 writes), so a new
 * process learns it in one read, not a scan of every entry; an eviction scans, and writes the
 * true size back. Processes writing at once may lose a few counts, which only lets the cache
 * pass a cap a little until the next eviction corrects it.
 */
const makeEvictor = (dir: string, maxBytes: number, maxEntries: number, stats: { evicted: number }) => {
  let usage: Usage | undefined
  let pending: Usage = { bytes: 0, entries: 0 }
  const evict = () => {
    const files = statEntries(dir).sort((a, b) => a.mtimeMs - b.mtimeMs)
    let bytes = files.reduce((a, f) => a + f.size, 0)
    let entries = files.length
    for (const f of files) {
      if (bytes <= maxBytes * 0.9 && entries <= maxEntries * 0.9) break
      SyncFiles.removeAll(f.path)
      bytes -= f.size
      entries -= 1
      stats.evicted++
    }
    usage = { bytes, entries }
    pending = { bytes: 0, entries: 0 }
    writeUsage(dir, usage)
  }
  const scanned = (): Usage => {
    const files = statEntries(dir)
    const u = { bytes: files.reduce((a, f) => a + f.size, 0), entries: files.length }
    writeUsage(dir, u)
    return u
  }
  return (addedBytes: number) => {
    const known = usage ?? readUsage(dir)
    if (known === undefined)
      usage = scanned() // the entry just written is in the scan
    else {
      usage = { bytes: known.bytes + addedBytes, entries: known.entries + 1 }
      pending = { bytes: pending.bytes + addedBytes, entries: pending.entries + 1 }
    }
    if (usage.bytes > maxBytes || usage.entries > maxEntries) return evict()
    if (pending.entries < USAGE_EVERY) return
    // what other processes added since counts too: add ours to the file's figure
    const shared = readUsage(dir) ?? { bytes: 0, entries: 0 }
    usage = { bytes: shared.bytes + pending.bytes, entries: shared.entries + pending.entries }
    pending = { bytes: 0, entries: 0 }
    writeUsage(dir, usage)
  }
}

/** An entry's body when present, intact and fresh; a damaged one is reported and removed on `get`. */
const readEntry = (
  dir: string,
  key: string,
  opts: CacheOptions,
  now: number,
  onDamaged: (() => void) | undefined
): unknown | undefined => {
  const path = entryPath(dir, key)
  let text: string | undefined
  // a miss is the common case of a first run: asked without the cost of a thrown error
  if (!SyncFiles.exists(path)) return undefined
  try {
    text = SyncFiles.readText(path)
  } catch {
    return undefined
  }
  if (text === undefined) return undefined
  const entry = entryBody(text, key)
  if (entry === undefined) {
    if (onDamaged === undefined) return undefined
    onDamaged()
    SyncFiles.removeAll(path)
    return undefined
  }
  if (opts.ttlMs !== undefined && now - entry.createdAtMs > opts.ttlMs) return undefined
  if (onDamaged !== undefined) touch(path, now)
  return entry.body
}

/** A file-system cache under `dir` (e.g. `<state>/cache`). Safe to share between processes. */
export const makeFile = (dir: string, opts: CacheOptions = {}): ResponseCacheShape => {
  const stats = mutableStats()
  const admit = makeEvictor(
    dir,
    opts.maxBytes ?? DEFAULT_MAX_BYTES,
    opts.maxEntries ?? DEFAULT_MAX_ENTRIES,
    stats
  )
  const damaged = () => {
    stats.corrupt++
  }
  return {
    get: (key) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const body = readEntry(dir, key, opts, now, damaged)
        if (body === undefined) stats.misses++
        else stats.hits++
        return body
      }),
    // a lookup only reads; the next `get` reports and removes a damaged entry
    has: (key) =>
      Effect.map(Clock.currentTimeMillis, (now) => readEntry(dir, key, opts, now, undefined) !== undefined),
    set: (key, body) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          const text = JSON.stringify({ v: 1, key, created_at_ms: now, body } satisfies CacheEntry)
          const path = entryPath(dir, key)
          SyncFiles.writeAtomic(path, text)
          touch(path, now)
          stats.writes++
          admit(text.length)
        }).pipe(Effect.catchCause(() => Effect.void))
      ),
    stats: Effect.sync(() => ({ ...stats })),
    // names only: no stat per entry, so a plan over a large cache lists it quickly
    keys: Effect.sync(() => new Set(entryPaths(dir).map((p) => basename(p, ".json"))))
  }
}
