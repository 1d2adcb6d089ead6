import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { expect } from "vitest"
import { DB_FILE, GROUP_MS, pinCacheDb } from "../src/CacheDb.ts"
import { keyHash } from "../src/CacheKeyHash.ts"
import { CacheListing, RECHECK_MS } from "../src/CacheListing.ts"
import { cacheKey, cacheKeyWith, makeFile, makeMemory } from "../src/ResponseCache.ts"

const body = { model: "m", messages: [{ role: "user", content: "hi" }], max_tokens: 5 }

/** Runs SQL on a cache's database through a handle of its own (as another process would). */
const rows = (dir: string, query: string, ...params: Array<string | number>) => {
  const db = new DatabaseSync(join(dir, DB_FILE))
  try {
    return db
      .prepare(query)
      .all(...params)
      .map((r) => ({ ...r }))
  } finally {
    db.close()
  }
}
const sql = (dir: string, query: string, ...params: Array<string | number>) =>
  void rows(dir, query, ...params)
/** Past the group's wait: a timer set after the cache's, for longer, fires after it. */
const committed = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, GROUP_MS + 10)))
/** The files this process holds open. */
const openFiles = () =>
  readdirSync("/proc/self/fd").flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/self/fd/${fd}`)]
    } catch {
      return []
    }
  })
const count = (dir: string) => (rows(dir, "SELECT count(*) AS n FROM entries")[0] as { n: number }).n

describe("ResponseCache", () => {
  it("the key covers base URL, model, messages and params, ignores key order and `usage`", () => {
    const k = cacheKey("http://a/v1", body)
    assert.strictEqual(
      k,
      cacheKey("http://a/v1/", {
        max_tokens: 5,
        messages: body.messages,
        model: "m",
        usage: { include: true }
      })
    )
    assert.notStrictEqual(k, cacheKey("http://b/v1", body))
    assert.notStrictEqual(k, cacheKey("http://a/v1", { ...body, model: "n" }))
    assert.notStrictEqual(k, cacheKey("http://a/v1", { ...body, temperature: 0.5 }))
  })

  it("a step's keys made around its messages are the keys of its whole bodies (property)", () => {
    const value = fc.jsonValue({ maxDepth: 3 })
    fc.assert(
      fc.property(
        fc.webUrl(),
        fc.dictionary(
          fc.oneof(fc.string(), fc.constantFrom("usage", "user", "messages", "__proto__", "0")),
          value,
          {
            maxKeys: 6
          }
        ),
        fc.constantFrom("messages", "prompt", "usage"),
        fc.array(value, { maxLength: 4 }),
        (baseUrl, body, field, values) => {
          const keyOf = cacheKeyWith(baseUrl, body, field)
          for (const v of values) expect(keyOf(v)).toBe(cacheKey(baseUrl, { ...body, [field]: v }))
        }
      ),
      { numRuns: 500 }
    )
  })

  it.effect("file store: hit, TTL expiry, damaged entries skipped, reported and removed", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "tg-cache-"))
      const cache = makeFile(dir, { ttlMs: 60_000 })
      const k = cacheKey("http://a", body)
      yield* cache.set(k, { choices: [1] })
      assert.deepStrictEqual(yield* cache.get(k), { choices: [1] })
      assert.isTrue(yield* cache.has(k))
      yield* TestClock.adjust(61_000)
      assert.isUndefined(yield* cache.get(k))
      const k2 = cacheKey("http://a", { ...body, seed: 2 })
      yield* cache.set(k2, { choices: [2] })
      yield* committed // writes are grouped into one commit, GROUP_MS after the first
      sql(dir, "UPDATE entries SET body = '{ not json' WHERE key = ?", k2)
      assert.isFalse(yield* cache.has(k2))
      assert.isUndefined(yield* cache.get(k2))
      assert.strictEqual((yield* cache.stats).corrupt, 1)
      assert.deepStrictEqual(rows(dir, "SELECT key FROM entries WHERE key = ?", k2), [])
    })
  )

  it.effect("file store: the entry cap evicts the least recently used", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "tg-cache-"))
      const cache = makeFile(dir, { maxEntries: 10 })
      const keys = Array.from({ length: 12 }, (_, i) => cacheKey("http://a", { ...body, seed: i }))
      for (const [i, k] of keys.entries()) {
        yield* cache.set(k, { i })
        yield* TestClock.adjust(1000)
        if (i === 0) continue
        yield* cache.get(keys[0]!) // keep the first one recently used
      }
      yield* committed
      assert.isAtMost(count(dir), 10)
      assert.isDefined(yield* cache.get(keys[0]!))
      assert.isUndefined(yield* cache.get(keys[1]!))
      assert.isAbove((yield* cache.stats).evicted, 0)
      // the size the database keeps is the true one
      assert.deepStrictEqual(rows(dir, "SELECT entries FROM usage"), [{ entries: count(dir) }])
    })
  )

  it.effect("file store: the byte cap holds, and the kept size is the entries' sum", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "tg-cache-"))
      const cache = makeFile(dir, { maxBytes: 20_000 })
      for (let i = 0; i < 50; i++)
        yield* cache.set(cacheKey("http://a", { ...body, seed: i }), { pad: "x".repeat(1000) })
      yield* committed
      const [sum] = rows(dir, "SELECT sum(size) AS bytes FROM entries") as Array<{ bytes: number }>
      assert.isAtMost(sum!.bytes, 20_000)
      assert.deepStrictEqual(rows(dir, "SELECT bytes FROM usage"), [{ bytes: sum!.bytes }])
    })
  )

  it.effect(
    "file store: a cache an earlier runner kept as files is taken in (it hits), and its files removed",
    () =>
      Effect.gen(function* () {
        const dir = mkdtempSync(join(tmpdir(), "tg-cache-"))
        const k = cacheKey("http://a", body)
        const k2 = cacheKey("http://a", { ...body, seed: 2 })
        const legacy = (key: string, text: string) => {
          mkdirSync(join(dir, key.slice(0, 2)), { recursive: true })
          writeFileSync(join(dir, key.slice(0, 2), `${key}.json`), text)
        }
        legacy(k, JSON.stringify({ v: 1, key: k, created_at_ms: 0, body: { choices: ["old"] } }))
        legacy(k2, "{ damaged")
        writeFileSync(join(dir, "usage.json"), JSON.stringify({ entries: 2, bytes: 100 }))
        const cache = makeFile(dir)
        assert.deepStrictEqual(yield* cache.get(k), { choices: ["old"] })
        assert.isUndefined(yield* cache.get(k2))
        assert.deepStrictEqual(
          readdirSync(dir).filter((f) => !f.startsWith("cache.db")),
          []
        )
      })
  )

  it.effect(
    "file store: a cache of the first schema (whole keys indexed) is brought up to date with its entries",
    () =>
      Effect.gen(function* () {
        const dir = mkdtempSync(join(tmpdir(), "tg-cache-"))
        const k = cacheKey("http://a", body)
        const k2 = cacheKey("http://a", { ...body, seed: 2 })
        const v0 = new DatabaseSync(join(dir, DB_FILE))
        v0.exec(`CREATE TABLE entries (key TEXT PRIMARY KEY, created_at_ms INTEGER NOT NULL,
          used_at_ms INTEGER NOT NULL, size INTEGER NOT NULL, body TEXT NOT NULL);
        CREATE INDEX entries_by_use ON entries (used_at_ms);
        CREATE TABLE uses (key TEXT NOT NULL, at_ms INTEGER NOT NULL);
        CREATE TABLE usage (id INTEGER PRIMARY KEY CHECK (id = 0), entries INTEGER NOT NULL, bytes INTEGER NOT NULL);
        INSERT INTO usage VALUES (0, 2, 40);
        CREATE TRIGGER entry_added AFTER INSERT ON entries BEGIN
          UPDATE usage SET entries = entries + 1, bytes = bytes + NEW.size WHERE id = 0; END;`)
        v0.prepare("INSERT INTO entries VALUES (?, 0, 0, 20, ?), (?, 0, 5, 20, ?)").run(
          k,
          JSON.stringify({ choices: ["one"] }),
          k2,
          JSON.stringify({ choices: ["two"] })
        )
        v0.close()
        const cache = makeFile(dir)
        assert.deepStrictEqual(yield* cache.get(k), { choices: ["one"] })
        assert.deepStrictEqual(yield* cache.get(k2), { choices: ["two"] })
        cache.close()
        assert.deepStrictEqual(rows(dir, "SELECT entries, bytes FROM usage"), [{ entries: 2, bytes: 40 }])
        assert.deepStrictEqual(rows(dir, "PRAGMA user_version"), [{ user_version: 1 }])
        // each copied with its number and its times
        assert.sameDeepMembers(rows(dir, "SELECT kh, key, created_at_ms, size FROM entries"), [
          { kh: keyHash(k), key: k, created_at_ms: 0, size: 20 },
          { kh: keyHash(k2), key: k2, created_at_ms: 0, size: 20 }
        ])
      })
  )

  it.effect(
    "file store: two keys found by the same number share a row; a read of the replaced one is a miss",
    () =>
      Effect.gen(function* () {
        const dir = mkdtempSync(join(tmpdir(), "tg-cache-"))
        const a = cacheKey("http://a", body)
        const b = cacheKey("http://a", { ...body, seed: 2 })
        // a 52-bit number is not made to collide on purpose: b's entry is written under a's number
        // by hand, as a collision would leave it
        const cache = makeFile(dir)
        yield* cache.set(b, { choices: ["b"] })
        cache.close()
        sql(dir, "UPDATE entries SET kh = ? WHERE key = ?", keyHash(a), b)
        const again = makeFile(dir)
        assert.isUndefined(yield* again.get(a), "found by a's number, but the key is b's: a miss")
        yield* again.set(a, { choices: ["a"] })
        again.close()
        const third = makeFile(dir)
        assert.deepStrictEqual(yield* third.get(a), { choices: ["a"] })
        assert.isUndefined(yield* third.get(b), "b's row was taken by a")
        third.close()
        assert.strictEqual(count(dir), 1)
      })
  )

  it("the number a key is found by: the whole key counts, and keys alike in their first digits differ", () => {
    const padded = Array.from({ length: 10_000 }, (_, i) => i.toString(16).padStart(64, "0"))
    assert.strictEqual(new Set(padded.map(keyHash)).size, padded.length)
    for (const k of padded.slice(0, 100)) {
      const h = keyHash(k)
      assert.isTrue(Number.isSafeInteger(h) && h >= 0 && h < 2 ** 52)
    }
    assert.notStrictEqual(keyHash("plain text"), keyHash("plain texu"))
  })

  it.effect(
    "file store: a reply's text, when given, is stored as it came; its parse is what a hit returns",
    () =>
      Effect.gen(function* () {
        const dir = mkdtempSync(join(tmpdir(), "tg-cache-"))
        const k = cacheKey("http://a", body)
        const text = '{ "choices": [ "as sent" ] }'
        const cache = makeFile(dir)
        yield* cache.set(k, JSON.parse(text), text)
        cache.close()
        assert.deepStrictEqual(rows(dir, "SELECT body, size FROM entries"), [
          { body: text, size: text.length }
        ])
        const again = makeFile(dir)
        assert.deepStrictEqual(yield* again.get(k), { choices: ["as sent"] })
        again.close()
      })
  )

  it.effect("file store: sets grouped into one commit are all written when the cache is let go", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "tg-cache-"))
      const cache = makeFile(dir)
      for (let i = 0; i < 3; i++) yield* cache.set(cacheKey("http://a", { ...body, seed: i }), { i })
      cache.close() // in the same turn: nothing was committed yet
      assert.strictEqual(count(dir), 3)
      const again = makeFile(dir)
      assert.deepStrictEqual(yield* again.get(cacheKey("http://a", { ...body, seed: 2 })), { i: 2 })
      again.close()
    })
  )

  it.effect(
    "file store: while another process holds the write lock past the wait, sets are dropped, never a failure, and letting go does not throw",
    () =>
      Effect.gen(function* () {
        const dir = mkdtempSync(join(tmpdir(), "tg-cache-"))
        const cache = makeFile(dir)
        const k = cacheKey("http://a", body)
        yield* cache.set(k, { choices: [1] })
        yield* committed
        // another process holds the write lock
        const other = new DatabaseSync(join(dir, DB_FILE))
        other.exec("PRAGMA busy_timeout = 5000")
        other.exec("BEGIN IMMEDIATE")
        other.exec("DELETE FROM uses")
        try {
          const fresh = makeFile(dir) // a new reader of the same dir shares this process's handle
          // readers are not blocked: a hit is a hit
          assert.deepStrictEqual(yield* fresh.get(k), { choices: [1] })
          // 1,100 sets: the 1,024th commits at once, waits out the lock, fails, and is dropped
          for (let i = 0; i < 1_100; i++)
            yield* fresh.set(cacheKey("http://a", { ...body, seed: 100 + i }), { i })
          assert.doesNotThrow(() => fresh.close())
          assert.doesNotThrow(() => cache.close())
        } finally {
          other.exec("ROLLBACK")
          other.close()
        }
      }),
    20_000
  )

  it.effect("file store: a handle opened read-only (the lock held past the wait) is not kept by a pin", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "tg-cache-"))
      const first = makeFile(dir)
      yield* first.set(cacheKey("http://a", body), { choices: [1] })
      first.close()
      const unpin = pinCacheDb(dir)
      const other = new DatabaseSync(join(dir, DB_FILE))
      other.exec("BEGIN IMMEDIATE")
      const plan = makeFile(dir)
      yield* plan.keys // opened while the lock is held: read-only, after the wait
      plan.close()
      other.exec("ROLLBACK")
      other.close()
      // still pinned: the run opens the database anew, writable, and its answers are kept
      const run = makeFile(dir)
      const k = cacheKey("http://a", { ...body, seed: 2 })
      yield* run.set(k, { choices: [2] })
      run.close()
      unpin()
      assert.deepStrictEqual(rows(dir, "SELECT key FROM entries WHERE key = ?", k), [{ key: k }])
    })
  )

  it.effect("file store: a cache that cannot be opened holds nothing for a while, then is asked again", () =>
    Effect.gen(function* () {
      const parent = mkdtempSync(join(tmpdir(), "tg-cache-"))
      const dir = join(parent, "cache")
      writeFileSync(dir, "") // a file where the cache's folder should be: it cannot open
      const cache = makeFile(dir)
      const k = cacheKey("http://a", body)
      yield* cache.set(k, { choices: [1] })
      assert.isUndefined(yield* cache.get(k))
      rmSync(dir)
      // still within the pause: not asked again yet
      yield* cache.set(k, { choices: [1] })
      assert.isUndefined(yield* cache.get(k))
      yield* TestClock.adjust(6_000)
      yield* cache.set(k, { choices: [2] })
      assert.deepStrictEqual(yield* cache.get(k), { choices: [2] })
      cache.close()
    })
  )

  it.effect(
    "file store: after a listing, a miss needs no lookup, yet an entry another process writes since is found",
    () =>
      Effect.gen(function* () {
        const dir = mkdtempSync(join(tmpdir(), "tg-cache-"))
        const [mine, theirs, never] = [1, 2, 3].map((seed) => cacheKey("http://a", { ...body, seed }))
        // a plan lists the keys and lets the cache go; the run takes the same handle up
        const unpin = pinCacheDb(dir)
        const plan = makeFile(dir)
        assert.strictEqual((yield* plan.keys).size, 0)
        plan.close()
        assert.isTrue(
          openFiles().some((f) => f.startsWith(dir)),
          "pinned: still open"
        )
        const cache = makeFile(dir)
        assert.isUndefined(yield* cache.get(never!))
        yield* cache.set(mine!, { choices: ["mine"] })
        yield* committed
        assert.deepStrictEqual(yield* cache.get(mine!), { choices: ["mine"] })
        // another process's commit: found once the listing's version is read again
        sql(
          dir,
          "INSERT INTO entries (kh, key, created_at_ms, used_at_ms, size, body) VALUES (?, ?, 0, 0, 20, ?)",
          keyHash(theirs!),
          theirs!,
          JSON.stringify({ choices: ["theirs"] })
        )
        yield* Effect.promise(() => new Promise((r) => setTimeout(r, RECHECK_MS + 5)))
        assert.deepStrictEqual(yield* cache.get(theirs!), { choices: ["theirs"] })
        cache.close()
        assert.isTrue(openFiles().some((f) => f.startsWith(dir)))
        unpin()
        assert.isFalse(
          openFiles().some((f) => f.startsWith(dir)),
          "unpinned and let go: closed"
        )
      })
  )

  it("the listing: a key listed or written since may be there; any other surely is not, until the version moves", () => {
    let version = 7
    let now = 0
    const listing = new CacheListing(new Set(["listed"]), 7, () => version, now)
    listing.wrote("written")
    assert.isFalse(listing.surelyAbsent("listed", now))
    assert.isFalse(listing.surelyAbsent("written", now))
    assert.isTrue(listing.surelyAbsent("other", now))
    version = 8 // another connection committed
    now += RECHECK_MS - 1
    assert.isTrue(listing.surelyAbsent("other", now)) // the version read this recently is trusted
    now += 1
    assert.isFalse(listing.surelyAbsent("other", now))
    version = 7
    now += RECHECK_MS
    assert.isFalse(listing.surelyAbsent("other", now)) // stale for good
  })

  it("the listing never calls a listed or written key absent, and calls any other absent (property)", () => {
    const hex = fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 64, maxLength: 64 })
    fc.assert(
      fc.property(fc.uniqueArray(hex, { minLength: 1, maxLength: 60 }), fc.nat(), (keys, cut) => {
        // the keys before the cut were listed, the one at it written, the rest never seen
        const at = cut % keys.length
        const listing = new CacheListing(new Set(keys.slice(0, at)), 1, () => 1, 0)
        if (at < keys.length) listing.wrote(keys[at]!)
        for (const [i, k] of keys.entries()) assert.strictEqual(listing.surelyAbsent(k, 0), i > at)
      })
    )
  })

  it.effect("memory store: LRU by entries", () =>
    Effect.gen(function* () {
      const cache = makeMemory({ maxEntries: 2 })
      yield* cache.set("a", 1)
      yield* cache.set("b", 2)
      yield* cache.get("a")
      yield* cache.set("c", 3)
      assert.strictEqual(yield* cache.get("a"), 1)
      assert.isUndefined(yield* cache.get("b"))
    })
  )
})
