import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { cacheKey, entryPath, makeFile, makeMemory } from "../src/ResponseCache.ts"

const body = { model: "m", messages: [{ role: "user", content: "hi" }], max_tokens: 5 }

/** Entry files of a cache dir (its two-character shard folders). */
const entryFiles = (dir: string) =>
  readdirSync(dir)
    .filter((s) => /^[0-9a-f]{2}$/.test(s))
    .flatMap((s) => readdirSync(join(dir, s)))

const usageOf = (dir: string) =>
  JSON.parse(readFileSync(join(dir, "usage.json"), "utf8")) as { entries: number }

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

  it.effect("file store: hit, TTL expiry, corrupt entries skipped and reported", () =>
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
      writeFileSync(entryPath(dir, k2), "{ not json")
      assert.isUndefined(yield* cache.get(k2))
      assert.strictEqual((yield* cache.stats).corrupt, 1)
      // an entry whose content names another key is damaged too
      const k3 = cacheKey("http://a", { ...body, seed: 3 })
      yield* cache.set(k3, { choices: [3] })
      writeFileSync(entryPath(dir, k3), JSON.stringify({ v: 1, key: k, created_at_ms: 0, body: {} }))
      assert.isUndefined(yield* cache.get(k3))
      assert.strictEqual((yield* cache.stats).corrupt, 2)
    })
  )

  it.effect("file store: entry cap evicts the least recently used", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "tg-cache-"))
      const cache = makeFile(dir, { maxEntries: 10 })
      const keys = Array.from({ length: 12 }, (_, i) => cacheKey("http://a", { ...body, seed: i }))
      for (const [i, k] of keys.entries()) {
        yield* cache.set(k, { i })
        yield* TestClock.adjust(1000) // recency is Clock time, to the second on any file system
        if (i === 0) continue
        yield* cache.get(keys[0]!) // keep the first one recently used
      }
      const files = entryFiles(dir)
      assert.isAtMost(files.length, 10)
      assert.isDefined(yield* cache.get(keys[0]!))
      assert.isUndefined(yield* cache.get(keys[1]!))
      assert.isAbove((yield* cache.stats).evicted, 0)
    })
  )

  it.effect(
    "file store: a new process learns the size from the index, not a scan; an eviction writes the truth back",
    () =>
      Effect.gen(function* () {
        const dir = mkdtempSync(join(tmpdir(), "tg-cache-"))
        const first = makeFile(dir, { maxEntries: 10 })
        for (let i = 0; i < 5; i++) yield* first.set(cacheKey("http://a", { ...body, seed: i }), { i })
        // the first write of an empty cache scanned it once (finding that entry) and wrote the index; later writes are added every 64
        assert.strictEqual(usageOf(dir).entries, 1)
        // the index says the cache is over its cap: a new process believes it, and its first set evicts,
        // which scans, finds 6, removes none, and writes the true size
        writeFileSync(join(dir, "usage.json"), JSON.stringify({ entries: 100, bytes: 0 }))
        const next = makeFile(dir, { maxEntries: 10 })
        yield* next.set(cacheKey("http://a", { ...body, seed: 99 }), { i: 99 })
        assert.strictEqual(usageOf(dir).entries, 6)
        assert.strictEqual(entryFiles(dir).length, 6)
        assert.strictEqual((yield* next.stats).evicted, 0)
      })
  )

  it.effect("file store: byte cap holds", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "tg-cache-"))
      const cache = makeFile(dir, { maxBytes: 20_000 })
      for (let i = 0; i < 50; i++)
        yield* cache.set(cacheKey("http://a", { ...body, seed: i }), { pad: "x".repeat(1000) })
      const files = entryFiles(dir)
      assert.isAtMost(files.length * 1100, 22_000)
    })
  )

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
