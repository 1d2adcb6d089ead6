/**
 * The shared store: limits, the quota ledger and the response cache in Redis, so many processes
 * and machines on one API key never pass its limits together. Each operation that must be
 * atomic across processes is one Lua script. Needs the `effect/persistence` `Redis` service
 * (`@effect/platform-node` `NodeRedis.layer` provides it).
 */

import * as Money from "@tollgate/pricing/Money"
import * as Policy from "@tollgate/pricing/Policy"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Redis } from "effect/persistence"
import {
  BudgetExceeded,
  type BudgetLimits,
  type BudgetShape,
  makeMemory as makeMemoryBudget
} from "./Budget.ts"
import { Limits } from "./Limits.ts"
import { LedgerError, QuotaLedger, type QuotaLedgerShape } from "./QuotaLedger.ts"
import { makeRateStore } from "./RedisRateStore.ts"
import {
  type CacheEntry,
  type CacheOptions,
  entryBody,
  ResponseCache,
  type ResponseCacheShape
} from "./ResponseCache.ts"
import { storeLost } from "./StoreLost.ts"

export const PREFIX = "tollgate:"
/** Cache entries without a TTL still expire, so a shared Redis does not fill up forever. */
export const DEFAULT_CACHE_TTL_MS = 30 * 86_400_000

// KEYS: the day's count and its ids (one slot); ARGV: n, limit, ttl seconds, attempt id ('' none)
const consumeScript = Redis.script(
  (keys: readonly [string, string], n: number, limit: number, ttlSeconds: number, id: string) => [
    ...keys,
    n,
    limit,
    ttlSeconds,
    id
  ],
  {
    numberOfKeys: 2,
    lua: `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local n = tonumber(ARGV[1])
if used + n > tonumber(ARGV[2]) then return {0, used} end
used = redis.call('INCRBY', KEYS[1], n)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
if ARGV[4] ~= '' then
  redis.call('SADD', KEYS[2], ARGV[4])
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
end
return {1, used}`
  }
).withReturnType<[number, number]>()

// KEYS: the day's count and its ids; ARGV: the attempt id. Takes one count back if the id is there.
const refundScript = Redis.script((keys: readonly [string, string], id: string) => [...keys, id], {
  numberOfKeys: 2,
  lua: `
if redis.call('SREM', KEYS[2], ARGV[1]) == 1 then redis.call('DECRBY', KEYS[1], 1) return 1 end
return 0`
}).withReturnType<number>()

const ledgerError = (e: unknown) =>
  new LedgerError({ message: `quota ledger (redis): ${String((e as { cause?: unknown }).cause ?? e)}` })

/** Free-model attempts per UTC day per key fingerprint, one INCR-if-below script per attempt. */
export const makeLedger = Effect.gen(function* () {
  const redis = yield* Redis.Redis
  const consume = redis.eval(consumeScript)
  const refund = redis.eval(refundScript)
  // hash-tagged by key fingerprint, as the rate windows are: one Redis Cluster slot per key
  const key = (fp: string, day: string) => `${PREFIX}{${fp}}:ledger:${day}`
  const ids = (fp: string, day: string) => `${PREFIX}{${fp}}:ledger-ids:${day}`
  // a count kept by an earlier version under its old key moves over once (GETDEL: one taker)
  const moved = new Set<string>()
  const migrate = (fp: string, day: string) =>
    moved.has(key(fp, day))
      ? Effect.void
      : redis.send<string | null>("GETDEL", `${PREFIX}ledger:${fp}:${day}`).pipe(
          Effect.flatMap((old) =>
            Number(old ?? 0) > 0
              ? redis
                  .send("INCRBY", key(fp, day), String(Number(old)))
                  .pipe(Effect.andThen(redis.send("EXPIRE", key(fp, day), String(3 * 86_400))))
              : Effect.void
          ),
          Effect.tap(() => Effect.sync(() => void moved.add(key(fp, day)))),
          Effect.asVoid
        )
  return {
    used: (fp, day) =>
      migrate(fp, day).pipe(
        Effect.andThen(redis.send<string | null>("GET", key(fp, day))),
        Effect.map((v) => Number(v ?? 0)),
        Effect.mapError(ledgerError)
      ),
    consume: (fp: string, day: string, n: number, limit: number, id = "") =>
      migrate(fp, day).pipe(
        Effect.andThen(consume([key(fp, day), ids(fp, day)], n, limit, 3 * 86_400, id)),
        Effect.map(([ok, used]) => ({ ok: Number(ok) === 1, used: Number(used) })),
        Effect.mapError(ledgerError)
      ),
    refund: (fp, day, id) =>
      refund([key(fp, day), ids(fp, day)], id).pipe(
        Effect.map((n) => Number(n) === 1),
        Effect.mapError(ledgerError)
      )
  } satisfies QuotaLedgerShape
})

/**
 * What in this Redis's settings could lose the quota ledger and budget pools: an eviction
 * policy that may evict them under memory pressure, or no persistence (a restart forgets them).
 * A server that refuses CONFIG (most managed Redis) is not second-guessed.
 */
export const durabilityWarnings = Effect.gen(function* () {
  const redis = yield* Redis.Redis
  // CONFIG GET answers [name, value] (RESP2) or { name: value } (RESP3)
  const config = (name: string) =>
    redis.send<string[] | Record<string, string>>("CONFIG", "GET", name).pipe(
      Effect.map((reply): string | undefined => (Array.isArray(reply) ? reply[1] : reply[name])),
      Effect.orElseSucceed(() => undefined)
    )
  const [maxmemory, policy, appendonly, save] = yield* Effect.all(
    ["maxmemory", "maxmemory-policy", "appendonly", "save"].map(config)
  )
  const out: string[] = []
  if (maxmemory !== undefined && maxmemory !== "0" && policy !== undefined && policy !== "noeviction")
    out.push(
      `the store's maxmemory-policy is ${policy}: under memory pressure Redis may evict today's quota ledger and budget pools, and runs would count from zero; set maxmemory-policy noeviction (a cache bounded by LRU belongs in another Redis)`
    )
  if (appendonly === "no" && save === "")
    out.push(
      "the store keeps nothing on disk (appendonly no, no save points): a restart forgets today's quota ledger and budget pools; set appendonly yes with appendfsync always"
    )
  return out
})

/**
 * The response cache in Redis: one key per entry, expiring after the TTL (30 days when none is
 * set). Size beyond that is the Redis server's to bound (`maxmemory` with `allkeys-lru`).
 */
export const makeCache = Effect.fn("RedisStores.makeCache")(function* (opts: CacheOptions = {}) {
  const redis = yield* Redis.Redis
  const stats = { hits: 0, misses: 0, writes: 0, corrupt: 0, evicted: 0 }
  const ttl = opts.ttlMs ?? DEFAULT_CACHE_TTL_MS
  const k = (key: string) => `${PREFIX}cache:${key}`
  const read = (key: string, report: boolean) =>
    redis.send<string | null>("GET", k(key)).pipe(
      Effect.mapError(storeLost),
      Effect.flatMap((text) => {
        if (text === null) return Effect.succeed(undefined)
        const entry = entryBody(text, key)
        if (entry !== undefined) return Effect.succeed(entry.body)
        if (!report) return Effect.succeed(undefined)
        stats.corrupt++
        return Effect.as(Effect.ignore(redis.send("DEL", k(key))), undefined)
      })
    )
  return {
    get: (key) =>
      Effect.tap(read(key, true), (body) =>
        Effect.sync(() => {
          if (body === undefined) stats.misses++
          else stats.hits++
        })
      ),
    has: (key) => Effect.map(read(key, false), (body) => body !== undefined),
    set: (key, body) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        redis
          .send(
            "SET",
            k(key),
            JSON.stringify({ v: 1, key, created_at_ms: now, body } satisfies CacheEntry),
            "PX",
            String(ttl)
          )
          .pipe(
            Effect.tap(() => Effect.sync(() => void stats.writes++)),
            Effect.mapError(storeLost),
            Effect.asVoid
          )
      ),
    stats: Effect.sync(() => ({ ...stats })),
    keys: Effect.gen(function* () {
      const out = new Set<string>()
      let cursor = "0"
      do {
        const [next, batch] = yield* redis
          .send<[string, string[]]>("SCAN", cursor, "MATCH", `${PREFIX}cache:*`, "COUNT", "1000")
          .pipe(Effect.orElseSucceed(() => ["0", []] as [string, string[]]))
        for (const name of batch) out.add(name.slice(`${PREFIX}cache:`.length))
        cursor = next
      } while (cursor !== "0")
      return out
    })
  } satisfies ResponseCacheShape
})

/** Limits, ledger and cache over Redis (the `Redis` service must be provided). */
export const layers = (policy: Policy.Policy, balanceUsd: number | undefined, cache: CacheOptions | false) =>
  Layer.mergeAll(
    Layer.unwrap(
      Effect.map(makeRateStore(PREFIX), (store) => Limits.layerWithStore(store, policy, balanceUsd))
    ),
    Layer.effect(QuotaLedger, makeLedger),
    cache === false ? ResponseCache.layerDisabled : Layer.effect(ResponseCache, makeCache(cache))
  )

const NANO = 1_000_000_000n

/** USD → whole nanodollars, rounded up (a reservation or a charge never shrinks by rounding). */
export const toNanoCeil = (usd: Money.Usd): bigint => {
  const [whole, frac = ""] = Money.toPlain(usd).split(".")
  const nanos = BigInt(whole!) * NANO + BigInt((frac + "000000000").slice(0, 9))
  return frac.length > 9 && /[1-9]/.test(frac.slice(9)) ? nanos + 1n : nanos
}

const reserveScript = Redis.script(
  (key: string, amount: string, max: string, ttlSeconds: number) => [key, amount, max, ttlSeconds],
  {
    numberOfKeys: 1,
    lua: `
local spent = tonumber(redis.call('HGET', KEYS[1], 'spent') or '0')
local reserved = tonumber(redis.call('HGET', KEYS[1], 'reserved') or '0')
if spent + reserved + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return {0, spent, reserved} end
redis.call('HINCRBY', KEYS[1], 'reserved', ARGV[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return {1, spent, reserved}`
  }
).withReturnType<[number, number, number]>()

const settleScript = Redis.script(
  (key: string, reserved: string, actual: string) => [key, reserved, actual],
  {
    numberOfKeys: 1,
    lua: `
redis.call('HINCRBY', KEYS[1], 'reserved', -tonumber(ARGV[1]))
redis.call('HINCRBY', KEYS[1], 'spent', ARGV[2])
return 1`
  }
)

/**
 * A budget pool shared by every run naming it (`budget.shared`), per UTC day: money is reserved
 * and settled in Redis (whole nanodollars, rounded up, one Lua script each), so runs together
 * never pass `maxCostUsd`. Request counts stay per run. A run killed mid-request leaves its
 * reservation held until the day's pool expires: the pool errs on the side of spending less.
 */
export const makeSharedBudget = Effect.fn("RedisStores.makeSharedBudget")(function* (
  pool: string,
  limits: BudgetLimits
) {
  const redis = yield* Redis.Redis
  const reserveMoney = redis.eval(reserveScript)
  const settleMoney = redis.eval(settleScript)
  const local = makeMemoryBudget({ ...limits, maxCostUsd: undefined })
  // the pool's day is the run's clock's (`Clock`), as the quota ledger's is
  const key = (nowMs: number) => `${PREFIX}budget:${pool}:${Policy.utcDay(new Date(nowMs))}`
  const max = limits.maxCostUsd
  // the day's key is remembered with the amount: a request settling after midnight settles the day it reserved
  const held = new Map<number, { readonly nanos: bigint; readonly key: string }>()
  return {
    reserve: (amount, opts) =>
      Effect.gen(function* () {
        const r = yield* local.reserve(amount, opts)
        if (max === undefined) return r
        const nanos = toNanoCeil(amount)
        const dayKey = key(yield* Clock.currentTimeMillis)
        const [ok, spent, reserved] = yield* reserveMoney(
          dayKey,
          nanos.toString(),
          toNanoCeil(max).toString(),
          3 * 86_400
        ).pipe(Effect.mapError(storeLost))
        if (Number(ok) !== 1) {
          yield* local.release(r, { sent: false })
          return yield* new BudgetExceeded({
            limit: "max_cost_usd",
            message: `the shared budget "${pool}" cannot hold the next request (up to ${Money.format(amount)}): $${Number(spent) / 1e9} spent and $${Number(reserved) / 1e9} in flight across runs today, of ${Money.format(max)}`
          })
        }
        held.set(r.id, { nanos, key: dayKey })
        return r
      }),
    settle: (r, actual) =>
      Effect.gen(function* () {
        const h = held.get(r.id)
        held.delete(r.id)
        if (h !== undefined)
          yield* Effect.ignore(settleMoney(h.key, h.nanos.toString(), toNanoCeil(actual).toString()))
        yield* local.settle(r, actual)
      }),
    release: (r, opts) =>
      Effect.gen(function* () {
        const h = held.get(r.id)
        held.delete(r.id)
        if (h !== undefined) yield* Effect.ignore(settleMoney(h.key, h.nanos.toString(), "0"))
        yield* local.release(r, opts)
      }),
    snapshot: local.snapshot
  } satisfies BudgetShape
})
