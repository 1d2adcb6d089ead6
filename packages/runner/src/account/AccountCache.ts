/**
 * What the provider said about an account, kept briefly (in the state dir's `accounts/`, one file
 * per base URL and key fingerprint, never the key; or in a shared store), so plan after plan does
 * not ask again; and the free tier a run learned from `X-RateLimit-Limit`, kept longer. Every
 * read is decoded; a damaged or stale copy is simply not used. The `StateStore` keeps the copies;
 * this file is their shape, what is fresh, and the file form.
 */
import { join } from "node:path"
import * as Files from "@tollgate/core/Files"
import * as Hash from "@tollgate/core/Hash"
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { CreditsInfo, KeyInfo } from "../providers/ProviderAccount.ts"

/** How long the provider's answers are trusted. */
export const FRESH_MS = 5 * 60_000
/** How long a learned free tier is trusted (credits bought stay bought). */
export const LEARNED_MS = 30 * 86_400_000

const Cached = Schema.Struct({
  fetched_at: Schema.optionalKey(Schema.Number),
  key: Schema.optionalKey(KeyInfo),
  credits: Schema.optionalKey(CreditsInfo),
  learned: Schema.optionalKey(Schema.Struct({ free_per_day: Schema.Number, at: Schema.Number }))
})
type Cached = typeof Cached.Type
const decode = Schema.decodeUnknownOption(Schema.fromJsonString(Cached))

export type { Cached }

/** Where the state dir keeps one account's copy (per base URL and key fingerprint, never the key). */
export const fileOf = (stateDir: string, baseUrl: string, fingerprint: string): string =>
  join(stateDir, "accounts", `${Hash.sha256(`${baseUrl}\n${fingerprint}`).slice(0, 24)}.json`)

/** A copy's text decoded; a damaged or missing one is empty. */
export const decodeCached = (text: string | null | undefined): Cached =>
  text == null ? {} : Option.getOrElse(decode(text), () => ({}))

/** A copy in the state dir: read (empty when missing or damaged) and written (best effort). */
export const readFile = (file: string): Effect.Effect<Cached, never, FileSystem.FileSystem> =>
  Files.readTextIfAny(file).pipe(
    Effect.map(decodeCached),
    Effect.orElseSucceed((): Cached => ({}))
  )

/** A read-only state dir is no failure: the next plan asks the provider again. */
export const writeFile = (file: string, c: Cached): Effect.Effect<void, never, FileSystem.FileSystem> =>
  Effect.ignore(Files.writeAtomic(file, `${JSON.stringify(c)}\n`))

/** The provider's answers when fresh, and the learned tier when recent. Pure. */
export const readAccount = (
  c: Cached,
  nowMs: number
): {
  fresh: { key?: KeyInfo; credits?: CreditsInfo; fetchedAt?: number } | undefined
  learnedFreePerDay: number | undefined
} => {
  const fresh =
    c.fetched_at !== undefined && nowMs - c.fetched_at >= 0 && nowMs - c.fetched_at < FRESH_MS
      ? {
          fetchedAt: c.fetched_at,
          ...(c.key !== undefined ? { key: c.key } : {}),
          ...(c.credits !== undefined ? { credits: c.credits } : {})
        }
      : undefined
  const learned =
    c.learned !== undefined && nowMs - c.learned.at < LEARNED_MS ? c.learned.free_per_day : undefined
  return { fresh, learnedFreePerDay: learned }
}

/** The copy with what the provider answered (the learned tier stays). Pure. */
export const withFound =
  (
    nowMs: number,
    found: { readonly key?: KeyInfo | undefined; readonly credits?: CreditsInfo | undefined }
  ) =>
  (c: Cached): Cached => ({
    ...(c.learned !== undefined ? { learned: c.learned } : {}),
    fetched_at: nowMs,
    ...(found.key !== undefined ? { key: found.key } : {}),
    ...(found.credits !== undefined ? { credits: found.credits } : {})
  })

/** The copy with the free requests a day a run learned from the provider's `X-RateLimit-Limit`. Pure. */
export const withLearned =
  (nowMs: number, freePerDay: number) =>
  (c: Cached): Cached => ({ ...c, learned: { free_per_day: freePerDay, at: nowMs } })
