/**
 * Replies keyed by everything that shapes them (base URL, model or fallback list, messages,
 * parameters) and never by the API key. Errors are never cached. A hit costs $0 and no quota.
 * Default store: one JSON file per entry in the state dir, written atomically; a damaged entry
 * is ignored, reported and removed. Size is capped (bytes and entries) with least-recently-used
 * eviction: a read touches the entry's mtime.
 */
import { readdirSync, readFileSync, rmSync, statSync, utimesSync } from "node:fs"
import { basename, join } from "node:path"
import { StateDir } from "@tollgate/pricing"
import { Clock, Context, Effect, Layer } from "effect"
import { canonicalJson, sha256 } from "./Fingerprint.ts"

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
  /** The cached reply body, or undefined (miss, expired, or damaged). */
  readonly get: (key: string) => Effect.Effect<unknown | undefined>
  /** Whether `get` would hit, without touching recency (plan uses this). */
  readonly has: (key: string) => Effect.Effect<boolean>
  readonly set: (key: string, body: unknown) => Effect.Effect<void>
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

interface FileEntry {
  readonly v: 1
  readonly key: string
  readonly created_at_ms: number
  readonly body: unknown
}

export const entryPath = (dir: string, key: string): string => join(dir, key.slice(0, 2), `${key}.json`)

/** Paths of every entry file under a cache dir (`<dir>/<shard>/<key>.json`). */
const entryPaths = (dir: string): string[] => {
  const out: string[] = []
  let shards: string[] = []
  try {
    shards = readdirSync(dir)
  } catch {
    return out
  }
  for (const shard of shards) {
    let names: string[] = []
    try {
      names = readdirSync(join(dir, shard))
    } catch {
      continue
    }
    for (const name of names) if (name.endsWith(".json")) out.push(join(dir, shard, name))
  }
  return out
}

/** A file-system cache under `dir` (e.g. `<state>/cache`). Safe to share between processes. */
export const makeFile = (dir: string, opts: CacheOptions = {}): ResponseCacheShape => {
  const stats = mutableStats()
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES
  const maxEntries = opts.maxEntries ?? DEFAULT_MAX_ENTRIES
  let usage: { bytes: number; entries: number } | undefined

  const scan = () => {
    const files: Array<{ path: string; size: number; mtimeMs: number }> = []
    for (const path of entryPaths(dir)) {
      try {
        const st = statSync(path)
        files.push({ path, size: st.size, mtimeMs: st.mtimeMs })
      } catch {
        // removed meanwhile
      }
    }
    return files
  }

  const evictIfNeeded = () => {
    if (usage === undefined) {
      const files = scan()
      usage = { bytes: files.reduce((a, f) => a + f.size, 0), entries: files.length }
    }
    if (usage.bytes <= maxBytes && usage.entries <= maxEntries) return
    // over a cap: drop least recently used down to 90% of both caps
    const files = scan().sort((a, b) => a.mtimeMs - b.mtimeMs)
    let bytes = files.reduce((a, f) => a + f.size, 0)
    let count = files.length
    for (const f of files) {
      if (bytes <= maxBytes * 0.9 && count <= maxEntries * 0.9) break
      try {
        rmSync(f.path, { force: true })
        bytes -= f.size
        count -= 1
        stats.evicted++
      } catch {
        // another process removed it
      }
    }
    usage = { bytes, entries: count }
  }

  const read = (key: string, now: number, touch: boolean): unknown | undefined => {
    const path = entryPath(dir, key)
    let text: string
    try {
      text = readFileSync(path, "utf8")
    } catch {
      return undefined
    }
    let entry: FileEntry
    try {
      entry = JSON.parse(text) as FileEntry
      if (entry?.v !== 1 || entry.key !== key || !("body" in entry)) throw new Error("bad entry")
    } catch {
      // a lookup (`has`) only reads; the next `get` reports and removes the damaged entry
      if (!touch) return undefined
      stats.corrupt++
      rmSync(path, { force: true })
      return undefined
    }
    if (opts.ttlMs !== undefined && now - entry.created_at_ms > opts.ttlMs) return undefined
    if (touch) {
      try {
        const t = new Date()
        utimesSync(path, t, t)
      } catch {
        // evicted meanwhile: still a hit for this read
      }
    }
    return entry.body
  }

  return {
    get: (key) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const body = read(key, now, true)
        if (body === undefined) stats.misses++
        else stats.hits++
        return body
      }),
    has: (key) => Effect.map(Clock.currentTimeMillis, (now) => read(key, now, false) !== undefined),
    set: (key, body) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          const text = JSON.stringify({ v: 1, key, created_at_ms: now, body } satisfies FileEntry)
          StateDir.writeAtomicSync(entryPath(dir, key), text)
          stats.writes++
          if (usage !== undefined) {
            usage.bytes += text.length
            usage.entries += 1
          }
          evictIfNeeded()
        }).pipe(Effect.catchCause(() => Effect.void))
      ),
    stats: Effect.sync(() => ({ ...stats })),
    // names only: no stat per entry, so a plan over a large cache lists it quickly
    keys: Effect.sync(() => new Set(entryPaths(dir).map((p) => basename(p, ".json"))))
  }
}
