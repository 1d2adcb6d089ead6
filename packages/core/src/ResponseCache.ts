/**
 * Replies keyed by everything that shapes them (base URL, model or fallback list, messages,
 * parameters) and never by the API key. Errors are never cached. A hit costs $0 and no quota.
 * Default store: a SQLite database in the state dir (`CacheDb.ts`); a damaged entry is ignored,
 * reported and removed. Size is capped (bytes and entries) with least-recently-used eviction: a
 * hit records its use.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { type CacheDb, cacheDbOf, pinCacheDb } from "./CacheDb.ts"
import { canonicalJson, sha256 } from "./Fingerprint.ts"
import type { StoreLost } from "./StoreLost.ts"

/** Body fields that do not change the reply. */
const NON_SEMANTIC = new Set(["usage", "stream", "user"])

/** What a chat request's cache key hashes: the base URL and the canonical body, its semantic fields only. */
const keyText = (baseUrl: string, body: Readonly<Record<string, unknown>>): string => {
  // no prototype: a `__proto__` key is a key like any other, as it was in `Object.fromEntries`
  const semantic: Record<string, unknown> = Object.create(null)
  for (const k of Object.keys(body)) if (!NON_SEMANTIC.has(k)) semantic[k] = body[k]
  return canonicalJson({ v: 1, base_url: baseUrl.replace(/\/+$/, ""), body: semantic })
}

/** The cache key of a chat request: sha256 over base URL and the canonical body. */
export const cacheKey = (baseUrl: string, body: Readonly<Record<string, unknown>>): string =>
  sha256(keyText(baseUrl, body))

/**
 * `cacheKey` of requests that differ only in one semantic field (a step's: their messages), the
 * canonical text around it made once: each key canonicalizes that field's value alone. For every
 * value `v` that is not undefined, `cacheKeyWith(baseUrl, body, field)(v)` is
 * `cacheKey(baseUrl, { ...body, [field]: v })`.
 */
export const cacheKeyWith = (
  baseUrl: string,
  body: Readonly<Record<string, unknown>>,
  field: string
): ((value: unknown) => string) => {
  // a string no body holds (control characters and a random id): found once in the text, where the value goes
  const marker = `\u0000${globalThis.crypto.randomUUID()}\u0000`
  const text = keyText(baseUrl, { ...body, [field]: marker })
  const quoted = JSON.stringify(marker)
  const at = text.indexOf(quoted)
  if (at < 0) return (value) => cacheKey(baseUrl, { ...body, [field]: value }) // not a semantic field
  const [before, after] = [text.slice(0, at), text.slice(at + quoted.length)]
  return (value) => sha256(`${before}${canonicalJson(value)}${after}`)
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
  /** `text`: the body's JSON text, when the caller has it (spares writing it again). */
  readonly set: (key: string, body: unknown, text?: string) => Effect.Effect<void, StoreLost>
  readonly stats: Effect.Effect<CacheStats>
  /** The keys present now (possibly expired): lets a caller skip lookups that cannot hit. */
  readonly keys: Effect.Effect<ReadonlySet<string>>
}

export class ResponseCache extends Context.Service<ResponseCache, ResponseCacheShape>()(
  "@tollgate/core/ResponseCache"
) {
  static readonly layerMemory = (opts: CacheOptions = {}) => Layer.sync(ResponseCache, () => makeMemory(opts))
  static readonly layerFile = (dir: string, opts: CacheOptions = {}) =>
    Layer.effect(ResponseCache, scopedFile(dir, opts))
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

export { CacheEntry, entryBody } from "./CacheEntry.ts"

/** How long (Clock ms) a cache that could not be opened holds nothing before it is asked again. */
const REOPEN_AFTER_MS = 5_000

/**
 * The database under `dir`, opened on first use. One that cannot be opened now (a read-only dir,
 * another process importing) holds nothing for a few seconds, then is asked again: one bad moment
 * does not cost a whole run its cache.
 */
const lazyDb = (dir: string) => {
  let held: ReturnType<typeof cacheDbOf> | undefined
  let failedAt = Number.NEGATIVE_INFINITY
  return {
    open: (nowMs: number): CacheDb | undefined => {
      if (held === undefined && nowMs - failedAt > REOPEN_AFTER_MS)
        try {
          held = cacheDbOf(dir)
        } catch {
          failedAt = nowMs
        }
      return held?.db
    },
    close: () => {
      held?.release()
      held = undefined
    }
  }
}

/**
 * An entry's body when present, intact and fresh. `onDamaged` (a `get`): a hit counts as a use,
 * and a damaged entry is reported and removed; without it (`has`) a lookup only reads.
 */
const readEntry = (
  d: CacheDb,
  key: string,
  now: number,
  ttlMs: number | undefined,
  onDamaged: (() => void) | undefined
): { readonly body: unknown } | undefined => {
  let e: ReturnType<CacheDb["get"]>
  try {
    e = d.get(key)
  } catch {
    return undefined // the database busy past its wait, or damaged: a miss
  }
  if (e === undefined) return undefined
  let body: unknown
  try {
    body = JSON.parse(e.body)
  } catch {
    if (onDamaged === undefined) return undefined
    onDamaged()
    try {
      d.remove(key)
    } catch {
      // removed by the next get that can
    }
    return undefined
  }
  if (ttlMs !== undefined && now - e.createdAtMs > ttlMs) return undefined
  if (onDamaged !== undefined) d.touch(key, now)
  return { body }
}

/**
 * Over a cap, the least recently used go, down to 90% of both caps (the size is read exactly only
 * then); returns how many went.
 */
const evictOverCaps = (d: CacheDb, maxBytes: number, maxEntries: number): number => {
  const guess = d.estimate()
  if (guess.bytes <= maxBytes && guess.entries <= maxEntries) return 0
  let u = d.usage()
  if (u.bytes <= maxBytes && u.entries <= maxEntries) return 0
  let evicted = 0
  while (u.bytes > maxBytes * 0.9 || u.entries > maxEntries * 0.9) {
    // over the entry cap: that many; over the byte cap: as many as the average entry says
    const overEntries = u.entries - Math.floor(maxEntries * 0.9)
    const overBytes = Math.ceil((u.bytes - maxBytes * 0.9) / Math.max(1, u.bytes / Math.max(1, u.entries)))
    const gone = d.evictOldest(Math.max(1, overEntries, overBytes))
    evicted += gone
    if (gone === 0) break
    u = d.usage()
  }
  return evicted
}

/**
 * The cache in a SQLite database under `dir` (`CacheDb.ts`), shared by the processes of a
 * machine; opened on first use, let go by `close`.
 */
export const makeFile = (
  dir: string,
  opts: CacheOptions = {}
): ResponseCacheShape & { readonly close: () => void } => {
  const stats = mutableStats()
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES
  const maxEntries = opts.maxEntries ?? DEFAULT_MAX_ENTRIES
  const db = lazyDb(dir)
  const damaged = () => {
    stats.corrupt++
  }
  const read = (key: string, now: number, onDamaged: (() => void) | undefined) => {
    const d = db.open(now)
    return d === undefined ? undefined : readEntry(d, key, now, opts.ttlMs, onDamaged)
  }
  return {
    // each a step of its own, the clock read inside it: a lookup and a set are on every request's path
    get: (key) =>
      Effect.clockWith((clock) => {
        const hit = read(key, clock.currentTimeMillisUnsafe(), damaged)
        if (hit === undefined) stats.misses++
        else stats.hits++
        return Effect.succeed(hit?.body)
      }),
    // a lookup only reads; the next `get` reports and removes a damaged entry
    has: (key) => Effect.map(Clock.currentTimeMillis, (now) => read(key, now, undefined) !== undefined),
    set: (key, body, text) =>
      Effect.clockWith((clock) => {
        const now = clock.currentTimeMillisUnsafe()
        try {
          const d = db.open(now)
          if (d === undefined) return Effect.void
          d.put(key, text ?? JSON.stringify(body), now)
          stats.writes++
          stats.evicted += evictOverCaps(d, maxBytes, maxEntries)
        } catch {
          // best effort: the cache only saves a later run a request
        }
        return Effect.void
      }),
    stats: Effect.sync(() => ({ ...stats })),
    keys: Effect.map(Clock.currentTimeMillis, (now) => {
      try {
        return db.open(now)?.keys() ?? new Set<string>()
      } catch {
        return new Set<string>() // the database busy past its wait: nothing the plan can count on
      }
    }),
    close: db.close
  }
}

/**
 * The file cache's database kept open for the enclosing scope once it is opened, between its
 * users (a command's plan and run): the run's misses then skip their lookups (`CacheListing`).
 */
export const pinnedFile = (dir: string) =>
  Effect.acquireRelease(
    Effect.sync(() => pinCacheDb(dir)),
    (unpin) => Effect.sync(unpin)
  )

/** The file cache for the enclosing scope. */
export const scopedFile = (dir: string, opts: CacheOptions = {}) =>
  Effect.acquireRelease(
    Effect.sync(() => makeFile(dir, opts)),
    (c) => Effect.sync(() => c.close())
  )
