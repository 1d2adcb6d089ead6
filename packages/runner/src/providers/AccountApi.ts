/**
 * The provider's account API: `GET {base_url}/key` (the key's cap, what is left of it, whether
 * the account is on the free tier) and, with a management key, `GET {base_url}/credits` (credits
 * bought and used), and `POST /keys` / `DELETE /keys/{hash}` (a key for one run, capped at its
 * budget). Bounded requests (5 s, 1 MiB); keys go only in Authorization, every message is
 * scrubbed of them, and a minted key is returned to memory only. A failed discovery is a warning.
 */
import * as Http from "@tollgate/core/Http"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { bearer } from "./KeyRoute.ts"
import type { BudgetLayer, CreditsInfo, KeyInfo } from "./ProviderAccount.ts"
import { redact } from "./Redact.ts"

const LIMITS: Http.FetchLimits = { timeoutMs: 5_000, maxBytes: 1024 * 1024 }

const Usd = Schema.NullOr(Schema.Number)
const Count = Schema.Number.check(Schema.isFinite(), Schema.isGreaterThanOrEqualTo(0))
const KeyResponse = Schema.Struct({
  data: Schema.Struct({
    limit: Schema.optionalKey(Usd),
    limit_remaining: Schema.optionalKey(Usd),
    usage_daily: Schema.optionalKey(Schema.Number),
    is_free_tier: Schema.optionalKey(Schema.Boolean),
    expires_at: Schema.optionalKey(Schema.NullOr(Schema.String)),
    free_model_daily_requests: Schema.optionalKey(
      Schema.NullOr(Schema.Struct({ limit: Count, used: Count, remaining: Count }))
    ),
    // the list's field name is not settled in the docs: read either, and any entry we cannot read is left out
    budgets: Schema.optionalKey(Schema.Unknown),
    budget_layers: Schema.optionalKey(Schema.Unknown)
  })
})

/** The budget layers a `/key` answer lists, each read leniently (a layer we cannot read is left out). */
const budgetsOf = (raw: unknown): BudgetLayer[] | undefined => {
  if (!Array.isArray(raw)) return undefined
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null)
  return raw.flatMap((b): BudgetLayer[] => {
    if (typeof b !== "object" || b === null) return []
    const r = b as Record<string, unknown>
    const limitUsd = num(r.limit_usd)
    const spend = num(r.spend_usd)
    const remainingUsd =
      num(r.remaining_usd) ?? (limitUsd !== null && spend !== null ? limitUsd - spend : null)
    return [
      {
        scope: typeof r.scope === "string" ? r.scope : "budget",
        limitUsd,
        remainingUsd,
        resetsAt: typeof r.resets_at === "string" ? r.resets_at : null
      }
    ]
  })
}
const CreditsResponse = Schema.Struct({
  data: Schema.Struct({ total_credits: Schema.Number, total_usage: Schema.Number })
})

export interface DiscoverSettings {
  readonly baseUrl: string
  readonly apiKey: Redacted.Redacted<string>
  /** `OPENROUTER_MANAGEMENT_KEY`: reads `/credits` (the tier and the balance). */
  readonly managementKey: Redacted.Redacted<string> | undefined
}

/** Calls `path` with a bearer key and decodes the reply; a failure is a message free of the key. */
const call = <S extends Schema.Top & { readonly DecodingServices: never }>(
  method: "GET" | "POST" | "DELETE",
  baseUrl: string,
  path: string,
  key: Redacted.Redacted<string>,
  schema: S,
  body?: unknown
): Effect.Effect<S["Type"], string> =>
  Effect.tryPromise({
    try: () => Http.requestJson(method, `${baseUrl}${path}`, body, LIMITS, bearer(key)),
    catch: (e) => redact((e as Error).message, key)
  }).pipe(
    Effect.flatMap((json) =>
      Option.match(Schema.decodeUnknownOption(schema)(json), {
        onNone: () => Effect.fail(`${method} ${baseUrl}${path} answered in a shape we do not know`),
        onSome: Effect.succeed
      })
    )
  )

const keyInfo = (r: typeof KeyResponse.Type): KeyInfo => {
  const counter = r.data.free_model_daily_requests ?? undefined
  const budgets = budgetsOf(r.data.budgets ?? r.data.budget_layers)
  return {
    limit: r.data.limit ?? null,
    limitRemaining: r.data.limit_remaining ?? null,
    usageDaily: r.data.usage_daily,
    isFreeTier: r.data.is_free_tier,
    expiresAt: r.data.expires_at,
    ...(counter !== undefined ? { freeModelDailyRequests: counter } : {}),
    ...(budgets !== undefined && budgets.length > 0 ? { budgets } : {})
  }
}

const creditsInfo = (r: typeof CreditsResponse.Type): CreditsInfo => ({
  totalCredits: r.data.total_credits,
  totalUsage: r.data.total_usage
})

/** The key's facts and, with a management key, the account's credits; each failure a warning. */
export const discover = Effect.fn("AccountApi.discover")(function* (s: DiscoverSettings) {
  const [key, credits] = yield* Effect.all(
    [
      Effect.result(Effect.map(call("GET", s.baseUrl, "/key", s.apiKey, KeyResponse), keyInfo)),
      s.managementKey === undefined
        ? Effect.succeed(undefined)
        : Effect.result(
            Effect.map(call("GET", s.baseUrl, "/credits", s.managementKey, CreditsResponse), creditsInfo)
          )
    ],
    { concurrency: 2 }
  )
  const warnings: string[] = []
  const value = <A>(r: typeof key | typeof credits, what: string): A | undefined => {
    if (r === undefined) return undefined
    if (r._tag === "Success") return r.success as A
    warnings.push(`could not read ${what} (${r.failure}); using the declared or default figures`)
    return undefined
  }
  return {
    key: value<KeyInfo>(key, "the key's limits from the provider"),
    credits: value<CreditsInfo>(credits, "the account's credits from the provider"),
    warnings
  }
})

const MintedResponse = Schema.Struct({
  data: Schema.Struct({ hash: Schema.String, limit: Schema.optionalKey(Usd) }),
  key: Schema.String
})

/** A bearer token's characters: visible ASCII, nothing a header could be split on. */
const TOKEN = /^[\x21-\x7e]+$/

/** Why a minted key cannot be trusted to hold the run to `limitUsd`, or undefined. */
const mintProblem = (r: typeof MintedResponse.Type, limitUsd: number): string | undefined => {
  const limit = r.data.limit
  if (limit === undefined || limit === null)
    return "the provider answered without the key's limit, so it may not hold the run to its budget"
  if (limit > limitUsd + 1e-9)
    return `the provider set the key's limit to $${limit}, above the $${limitUsd} asked for`
  if (!TOKEN.test(r.key)) return "the minted key has characters a bearer token cannot have"
  return undefined
}

export interface MintSettings {
  readonly baseUrl: string
  readonly managementKey: Redacted.Redacted<string>
  readonly name: string
  readonly limitUsd: number
  /** ISO 8601: the key stops working then even if it is never deleted. */
  readonly expiresAt: string
}

/**
 * A key capped at `limitUsd`: the provider refuses (402) what would pass it. Its text stays in
 * memory. A reply that does not show that cap (no limit, a higher one, a key no header can carry)
 * is refused, and the key it made is deleted.
 */
export const mintKey = (
  s: MintSettings
): Effect.Effect<{ readonly hash: string; readonly key: Redacted.Redacted<string> }, string> =>
  Effect.flatMap(
    call("POST", s.baseUrl, "/keys", s.managementKey, MintedResponse, {
      name: s.name,
      limit: s.limitUsd,
      expires_at: s.expiresAt
    }),
    (r) => {
      const problem = mintProblem(r, s.limitUsd)
      // the minted key's text is wrapped as it arrives: from here it is only ever sent
      if (problem === undefined) return Effect.succeed({ hash: r.data.hash, key: Redacted.make(r.key) })
      return Effect.andThen(
        Effect.ignore(deleteKey({ baseUrl: s.baseUrl, managementKey: s.managementKey, hash: r.data.hash })),
        Effect.fail(redact(problem, r.key))
      )
    }
  )

/** Deletes a minted key. */
export const deleteKey = (s: {
  readonly baseUrl: string
  readonly managementKey: Redacted.Redacted<string>
  readonly hash: string
}): Effect.Effect<void, string> =>
  Effect.asVoid(
    call("DELETE", s.baseUrl, `/keys/${encodeURIComponent(s.hash)}`, s.managementKey, Schema.Unknown)
  )
