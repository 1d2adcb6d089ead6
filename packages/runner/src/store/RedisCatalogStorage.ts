/**
 * The refreshed catalog in a shared store (`--store` / `TOLLGATE_STORE`): one key, so a
 * `runner models refresh` on one machine is the catalog every machine on the store plans with.
 * Best effort, as the file is: a copy that cannot be read is none (the bundled snapshot is used).
 */
import type { CatalogStorage } from "@tollgate/core/CatalogStore"
import { PREFIX } from "@tollgate/core/RedisStores"
import * as Effect from "effect/Effect"
import { Redis } from "effect/persistence"

const KEY = `${PREFIX}catalog`

export const makeCatalogStorage = Effect.fn("RedisCatalogStorage.make")(function* (description: string) {
  const redis = yield* Redis.Redis
  return {
    read: redis.send<string | null>("GET", KEY).pipe(
      Effect.map((text) => text ?? undefined),
      Effect.orElseSucceed(() => undefined)
    ),
    write: (text) => Effect.asVoid(redis.send("SET", KEY, text)),
    location: `${description} (${KEY})`
  } satisfies CatalogStorage
})
