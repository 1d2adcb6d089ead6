/**
 * The sliding windows in Redis, so every process on one API key paces as one: one sorted set of
 * send times per bucket and one hash for its learned limit and provider pause, each request's
 * check-and-count one Lua script over all its buckets. Keys carry the key fingerprint as a hash
 * tag (`tollgate:{<fingerprint>}:…`), so a script's keys share one Redis Cluster slot. Times are
 * the Redis server's (`TIME`), so machines with skewed clocks still share one window.
 */
import * as Effect from "effect/Effect"
import { Redis } from "effect/persistence"
import type { Bucket } from "./Buckets.ts"
import type { RateStore, Take } from "./RateStore.ts"
import { storeLost } from "./StoreLost.ts"
import { QUIET_WINDOWS } from "./Window.ts"

/** The window's sorted set and the bucket's hash, in the key's slot. */
export const keysOf = (prefix: string, b: Bucket): readonly [string, string] => [
  `${prefix}{${b.fingerprint}}:window:${b.name}`,
  `${prefix}{${b.fingerprint}}:bucket:${b.name}`
]

/** A learned limit and a pause outlive a run by this much, so the next run starts from them. */
const BUCKET_TTL_MS = 3_600_000

// microseconds, so requests sent in one millisecond still have an order
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function us(x) return string.format('%.0f', x) end
-- Window.recovered: the learned cap, one more per quiet period (a window, doubled per strike)
local function recovered(meta, limit, windowUs)
  local cap = tonumber(redis.call('HGET', meta, 'cap') or limit)
  if cap >= limit then return limit end
  local at = tonumber(redis.call('HGET', meta, 'at') or us(now))
  local strikes = math.min(tonumber(redis.call('HGET', meta, 'strikes') or '0'), 10)
  local steps = math.floor(math.max(0, now - at) / (${QUIET_WINDOWS} * windowUs * 2 ^ strikes))
  return math.min(limit, cap + steps)
end`

// KEYS: window, bucket per bucket; ARGV: id, then limit and window ms per bucket. Window.delayMs in Lua.
const takeScript = Redis.script(
  (keys: ReadonlyArray<string>, id: string, rules: ReadonlyArray<number>) => [...keys, id, ...rules],
  {
    numberOfKeys: (keys) => keys.length,
    lua: `${NOW}
local wait, which, paused = 0, 0, 0
for i = 1, #KEYS / 2 do
  local win, meta = KEYS[2 * i - 1], KEYS[2 * i]
  local limit, window = tonumber(ARGV[2 * i]), math.ceil(tonumber(ARGV[2 * i + 1]) * 1000)
  limit = recovered(meta, limit, window)
  local untilUs = tonumber(redis.call('HGET', meta, 'pause') or '0')
  if untilUs - now > wait then wait, which, paused = untilUs - now, i, 1 end
  redis.call('ZREMRANGEBYSCORE', win, '-inf', us(now - window))
  local n = redis.call('ZCARD', win)
  if n >= limit then
    local oldest = redis.call('ZRANGE', win, n - limit, n - limit, 'WITHSCORES')
    local d = tonumber(oldest[2]) + window - now
    if d > wait then wait, which, paused = d, i, 0 end
  end
end
if wait > 0 then return {0, math.ceil(wait / 1000), which, paused} end
for i = 1, #KEYS / 2 do
  redis.call('ZADD', KEYS[2 * i - 1], us(now), ARGV[1])
  redis.call('PEXPIRE', KEYS[2 * i - 1], math.ceil(tonumber(ARGV[2 * i + 1])))
end
return {1, 0, 0, 0}`
  }
).withReturnType<[number, number, number, number]>()

// KEYS: the windows; ARGV: id, then each window's ms. Only an entry still inside its window moves.
const touchScript = Redis.script(
  (keys: ReadonlyArray<string>, id: string, windows: ReadonlyArray<number>) => [...keys, id, ...windows],
  {
    numberOfKeys: (keys) => keys.length,
    lua: `${NOW}
for i = 1, #KEYS do
  local sent = redis.call('ZSCORE', KEYS[i], ARGV[1])
  if sent and tonumber(sent) > now - tonumber(ARGV[i + 1]) * 1000 then
    redis.call('ZADD', KEYS[i], 'XX', us(now), ARGV[1])
    -- the set lives a window past its newest entry
    redis.call('PEXPIRE', KEYS[i], math.ceil(tonumber(ARGV[i + 1])))
  end
end
return 1`
  }
)

const pauseScript = Redis.script((bucket: string, waitMs: number) => [bucket, Math.ceil(waitMs)], {
  numberOfKeys: 1,
  lua: `${NOW}
local untilUs = now + tonumber(ARGV[1]) * 1000
if untilUs > tonumber(redis.call('HGET', KEYS[1], 'pause') or '0') then redis.call('HSET', KEYS[1], 'pause', us(untilUs)) end
redis.call('PEXPIRE', KEYS[1], ${BUCKET_TTL_MS})
return 1`
})

// KEYS: window, bucket; ARGV: limit, window ms, refused id ('' for none), hint (0: none). Window.tightened in Lua.
const tightenScript = Redis.script(
  (keys: readonly [string, string], limit: number, windowMs: number, refusedId: string, hint: number) => [
    ...keys,
    limit,
    windowMs,
    refusedId,
    hint
  ],
  {
    numberOfKeys: 2,
    lua: `${NOW}
local windowUs = math.ceil(tonumber(ARGV[2]) * 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', us(now - windowUs))
local current = recovered(KEYS[2], tonumber(ARGV[1]), windowUs)
local previous = redis.call('HGET', KEYS[2], 'cap')
local learned = current
if ARGV[3] ~= '' then
  local sent = redis.call('ZSCORE', KEYS[1], ARGV[3])
  if sent then
    local before = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. sent)
    if before >= 1 and before < learned then learned = before end
    redis.call('ZREM', KEYS[1], ARGV[3])
  end
end
local hint = math.floor(tonumber(ARGV[4]))
if hint >= 1 and hint < learned then learned = hint end
if learned >= current then return current end
-- refused above what was learned before: a probe upward failed
local strikes = tonumber(redis.call('HGET', KEYS[2], 'strikes') or '0')
if previous and current > tonumber(previous) then strikes = strikes + 1 end
redis.call('HSET', KEYS[2], 'cap', learned, 'at', us(now), 'strikes', strikes)
redis.call('PEXPIRE', KEYS[2], ${BUCKET_TTL_MS})
return learned`
  }
).withReturnType<number>()

/** The rate store over the `Redis` service in context. */
export const makeRateStore = Effect.fn("RedisRateStore.make")(function* (prefix: string) {
  const redis = yield* Redis.Redis
  const take = redis.eval(takeScript)
  const pause = redis.eval(pauseScript)
  const touch = redis.eval(touchScript)
  const tighten = redis.eval(tightenScript)
  return {
    take: (buckets, id) =>
      take(
        buckets.flatMap((b) => keysOf(prefix, b)),
        id,
        buckets.flatMap((b) => [b.limit, b.windowMs])
      ).pipe(
        Effect.map(
          ([ok, delay, which, paused]): Take =>
            Number(ok) === 1
              ? { ok: true }
              : {
                  ok: false,
                  delayMs: Number(delay),
                  bucket: Number(which) - 1,
                  paused: Number(paused) === 1
                }
        ),
        Effect.mapError(storeLost)
      ),
    touch: (buckets, id) =>
      touch(
        buckets.map((b) => keysOf(prefix, b)[0]),
        id,
        buckets.map((b) => b.windowMs)
      ).pipe(Effect.ignore),
    release: (buckets, id) =>
      Effect.forEach(buckets, (b) => Effect.ignore(redis.send("ZREM", keysOf(prefix, b)[0], id)), {
        discard: true
      }),
    pause: (b, waitMs) => Effect.ignore(pause(keysOf(prefix, b)[1], waitMs)),
    tighten: (b, e) =>
      tighten(keysOf(prefix, b), b.limit, b.windowMs, e.refusedId ?? "", e.hint ?? 0).pipe(
        Effect.map(Number),
        Effect.mapError(storeLost)
      )
  } satisfies RateStore
})
