/**
 * Which catalog is in use, and how it is refreshed. A refreshed copy in the state dir wins over
 * the bundled snapshot; a refresh that fails in any way (network, timeout, size, bad JSON, bad
 * shape) leaves the catalog in use untouched.
 */
import { createRequire } from "node:module"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { type Catalog, CatalogDecodeError, decode, type Source } from "@tollgate/pricing/Catalog"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Files from "./Files.ts"
import { sha256 } from "./Hash.ts"
import type { FetchError, FetchLimits } from "./Http.ts"
import * as SyncFiles from "./SyncFiles.ts"

let bundledPathCache: string | undefined
/**
 * The bundled snapshot, OpenRouter `/models` captured 2026-08-19 (see data/PROVENANCE.md): beside
 * this module's package, or (inside the CLI's bundle) the installed package's. Found on first use.
 */
export const bundledPath = (): string => {
  if (bundledPathCache !== undefined) return bundledPathCache
  // the snapshot ships with @tollgate/pricing (its `data/`), resolved as a dependency
  const beside = fileURLToPath(new URL("../../pricing/data/openrouter-models.json", import.meta.url))
  bundledPathCache = SyncFiles.exists(beside)
    ? beside
    : createRequire(import.meta.url).resolve("@tollgate/pricing/data/openrouter-models.json")
  return bundledPathCache
}
export const BUNDLED_DATE = "2026-08-19"
export const DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
export const DEFAULT_LIMITS: FetchLimits = { timeoutMs: 30_000, maxBytes: 32 * 1024 * 1024 }

let bundledCache: Catalog | undefined
/** The catalog bundled with the package (decoded once per process). */
export const bundled = (): Catalog => {
  bundledCache ??= decode(JSON.parse(SyncFiles.readBytes(bundledPath()).toString("utf8")), {
    kind: "bundled",
    label: "bundled snapshot",
    date: BUNDLED_DATE,
    location: bundledPath()
  })
  return bundledCache
}

/** Decodes a catalog file's text (a `/models` response body) read from `path`. */
export const fromText = (text: string, path: string, source?: Partial<Source>): Catalog =>
  decode(JSON.parse(text), {
    kind: "file",
    label: path,
    date: "",
    location: path,
    ...source
  })

/** Reads and decodes a catalog file (a `/models` response body). */
export const fromFile = Effect.fnUntraced(function* (path: string) {
  const fs = yield* FileSystem.FileSystem
  const text = yield* fs.readFileString(path)
  return yield* Effect.try(() => fromText(text, path))
})

export class CatalogRefreshError extends Schema.TaggedError<CatalogRefreshError>()("CatalogRefreshError", {
  reason: Schema.Literals(["timeout", "too-large", "http", "network", "malformed", "invalid", "store"]),
  message: Schema.String
}) {}

/** The refreshed catalog as stored in the state dir, decoded before use. */
const StoredCatalog = Schema.Struct({
  fetched_at: Schema.String,
  base_url: Schema.String,
  sha256: Schema.String,
  body: Schema.Unknown
})
type StoredCatalog = typeof StoredCatalog.Type
const decodeStored = Schema.decodeUnknownOption(Schema.fromJsonString(StoredCatalog))

export const storedPath = (dir: string): string => join(dir, "catalog", "models.json")

/** Where a refreshed catalog is kept: a file in the state dir, or a shared store. */
export interface CatalogStorage {
  /** The stored text; `undefined` when there is none or it cannot be read. */
  readonly read: Effect.Effect<string | undefined>
  readonly write: (text: string) => Effect.Effect<void, { readonly message: string }>
  /** Where it is, as a catalog's source names it. */
  readonly location: string
}

/** The refreshed catalog in the state dir (`catalog/models.json`), through `FileSystem`. */
export const fileStorage = (dir: string, fs: FileSystem.FileSystem): CatalogStorage => ({
  read: Files.readTextIfAny(storedPath(dir)).pipe(
    Effect.orElseSucceed(() => undefined),
    Effect.provideService(FileSystem.FileSystem, fs)
  ),
  write: (text) =>
    Files.writeAtomic(storedPath(dir), text).pipe(Effect.provideService(FileSystem.FileSystem, fs)),
  location: storedPath(dir)
})

const loadStored = Effect.fnUntraced(function* (storage: CatalogStorage) {
  const text = yield* storage.read
  if (text === undefined) return undefined
  const stored = Option.getOrUndefined(decodeStored(text))
  if (stored === undefined) return undefined // a damaged store falls back to the bundled snapshot
  try {
    return decode(stored.body, {
      kind: "refreshed",
      label: `refreshed from ${stored.base_url}`,
      date: stored.fetched_at,
      location: storage.location
    })
  } catch {
    return undefined // a damaged store falls back to the bundled snapshot
  }
})

export interface CatalogStoreShape {
  /** The catalog in use: the refreshed copy if there is a valid one, else the bundled snapshot. */
  readonly current: Effect.Effect<Catalog>
  /** Fetches `{baseUrl}/models`, checks it, stores it; on any failure the stored catalog is untouched. */
  readonly refresh: (baseUrl: string, limits?: FetchLimits) => Effect.Effect<Catalog, CatalogRefreshError>
}

/** The catalog service: reads and refreshes the catalog kept in the state dir. */
export class CatalogStore extends Context.Service<CatalogStore, CatalogStoreShape>()(
  "@tollgate/core/CatalogStore"
) {
  /** A store keeping its refreshed catalog in `storage` (`fileStorage`: the state dir). */
  static readonly make = (storage: CatalogStorage): CatalogStoreShape => ({
    current: Effect.map(loadStored(storage), (stored) => stored ?? bundled()),
    refresh: Effect.fn("CatalogStore.refresh")(function* (
      baseUrl: string,
      limits: FetchLimits = DEFAULT_LIMITS
    ) {
      const url = `${baseUrl.replace(/\/+$/, "")}/models`
      const body = yield* Effect.tryPromise({
        // the HTTP client is loaded only when a refresh fetches
        try: async () => (await import("./Http.ts")).getJson(url, limits),
        catch: (e) =>
          (e as Partial<FetchError>).name === "FetchError" && (e as FetchError).failure !== undefined
            ? new CatalogRefreshError({
                reason: (e as FetchError).failure.reason,
                message: (e as FetchError).message
              })
            : new CatalogRefreshError({ reason: "network", message: String(e) })
      })
      const fetchedAt = new Date(yield* Clock.currentTimeMillis).toISOString()
      const catalog = yield* Effect.try({
        try: () =>
          decode(body, {
            kind: "refreshed",
            label: `refreshed from ${baseUrl}`,
            date: fetchedAt,
            location: storage.location
          }),
        catch: (e) =>
          new CatalogRefreshError({
            reason: "invalid",
            message: `${url}: ${e instanceof CatalogDecodeError ? e.message : String(e)}`
          })
      })
      const text = JSON.stringify(body)
      const stored: StoredCatalog = {
        fetched_at: fetchedAt,
        base_url: baseUrl,
        sha256: sha256(text),
        body
      }
      yield* storage.write(JSON.stringify(stored)).pipe(
        Effect.mapError(
          (e) =>
            new CatalogRefreshError({
              reason: "store",
              message: `could not store the catalog: ${e.message}`
            })
        )
      )
      return catalog
    })
  })

  /** A fixed catalog, for tests. */
  static readonly layerTest = (catalog: Catalog) =>
    Layer.succeed(CatalogStore, {
      current: Effect.succeed(catalog),
      refresh: () =>
        Effect.fail(new CatalogRefreshError({ reason: "network", message: "refresh is disabled in tests" }))
    })
}

export type { Catalog }
