/**
 * The calibration index in a shared store (`--store redis://…`): one index for every runner on
 * the store, so what one machine's runs teach, every machine's plans know. Updated by compare and
 * set on a version (a script: the version read is still the version, then the new index and the
 * next version), retried after a short random wait when another run's update came first; best
 * effort, as the file's is.
 */
import { PREFIX } from "@tollgate/core/RedisStores"
import * as Effect from "effect/Effect"
import { Redis } from "effect/persistence"
import * as Random from "effect/Random"
import { decodeIndex, type Index } from "./CalibrationIndex.ts"

// one hash tag: the index and its version in one Redis Cluster slot, as the script needs
const INDEX = `${PREFIX}{calibration}`
const VERSION = `${PREFIX}{calibration}:version`
/** Runs ending at once (shards) take turns: each lost race waits a little, at random, and reads again. */
const ATTEMPTS = 40

// KEYS: the index and its version; ARGV: the version read, the new index. 1 when written.
const casScript = Redis.script((version: string, text: string) => [INDEX, VERSION, version, text], {
  numberOfKeys: 2,
  lua: `
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('INCR', KEYS[2])
return 1`
}).withReturnType<number>()

export const makeCalibration = Effect.gen(function* () {
  const redis = yield* Redis.Redis
  const cas = redis.eval(casScript)
  const readWithVersion = Effect.map(
    redis.send<Array<string | null>>("MGET", INDEX, VERSION),
    ([text, version]) => ({
      index: decodeIndex(text),
      version: version ?? "0"
    })
  )
  const read = Effect.orElseSucceed(
    Effect.map(readWithVersion, (r) => r.index),
    (): Index => decodeIndex(undefined)
  )
  const update = (f: (index: Index) => Index): Effect.Effect<void> =>
    Effect.gen(function* () {
      for (let i = 0; i < ATTEMPTS; i++) {
        const { index, version } = yield* readWithVersion
        if ((yield* cas(version, JSON.stringify(f(index)))) === 1) return
        yield* Effect.sleep(Math.ceil((yield* Random.next) * Math.min(50, 5 * (i + 1))))
      }
    }).pipe(Effect.ignore)
  return { read, update }
})
