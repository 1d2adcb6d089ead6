/**
 * The account copies in a shared store (`--store redis://…`): what the provider said of a key, and
 * the free tier runs learned, kept once for every machine on the store (one key per endpoint and
 * key fingerprint, hash-tagged by the fingerprint as the rate windows are; never the key itself),
 * expiring when a learned tier would. Best effort, as the files are: a copy that cannot be read is
 * empty, one that cannot be written means the next plan asks the provider again.
 */
import * as Hash from "@tollgate/core/Hash"
import { PREFIX } from "@tollgate/core/RedisStores"
import * as Effect from "effect/Effect"
import { Redis } from "effect/persistence"
import { type Cached, decodeCached, LEARNED_MS } from "../account/AccountCache.ts"
import type { AccountCopiesShape } from "../account/AccountCopies.ts"

const keyOf = (baseUrl: string, fingerprint: string) =>
  `${PREFIX}{${fingerprint}}:account:${Hash.sha256(baseUrl).slice(0, 24)}`

export const makeAccounts = Effect.gen(function* () {
  const redis = yield* Redis.Redis
  const read = (baseUrl: string, fp: string): Effect.Effect<Cached> =>
    Effect.orElseSucceed(
      Effect.map(redis.send<string | null>("GET", keyOf(baseUrl, fp)), decodeCached),
      (): Cached => ({})
    )
  return {
    read,
    update: (baseUrl, fp, f) =>
      Effect.flatMap(read(baseUrl, fp), (c) =>
        redis.send("SET", keyOf(baseUrl, fp), JSON.stringify(f(c)), "PX", String(LEARNED_MS))
      ).pipe(Effect.ignore)
  } satisfies AccountCopiesShape
})
