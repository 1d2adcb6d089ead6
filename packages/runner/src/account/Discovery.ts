/**
 * The account as the provider knows it, for a plan or a run: asked once every few minutes
 * (`GET /key`, and `GET /credits` with `OPENROUTER_MANAGEMENT_KEY`), kept by the state store, and
 * joined with the free tier an earlier run learned. No key, echo or `--offline`: nothing is asked.
 */
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import { type KeyVariables, keyFor, keyWithheld, MANAGEMENT_KEY_ENV } from "../providers/KeyRoute.ts"
import type { Discovered } from "../providers/ProviderAccount.ts"
import { Providers } from "../providers/Providers.ts"
import * as AccountCache from "./AccountCache.ts"
import type { AccountCopiesShape } from "./AccountCopies.ts"
import { type AccountFacts, accountFacts } from "./AccountFacts.ts"

export interface DiscoveryOptions {
  readonly baseUrl: string
  readonly apiKey: Redacted.Redacted<string> | undefined
  readonly managementKey: Redacted.Redacted<string> | undefined
  readonly fingerprint: string
  readonly copies: AccountCopiesShape
  readonly nowMs: number
  readonly refreshCounter?: boolean
}

export const discoverAccount = Effect.fnUntraced(function* (o: DiscoveryOptions) {
  const cached = AccountCache.readAccount(yield* o.copies.read(o.baseUrl, o.fingerprint), o.nowMs)
  const learned = { learnedFreePerDay: cached.learnedFreePerDay }
  if (o.apiKey === undefined) return { warnings: [], ...learned } satisfies Discovered
  // a copy made without the management key holds no credits: ask again once there is one
  // the free counter moves with every request, the account's other keys' included: a run asks anew
  const stale = o.refreshCounter === true && cached.fresh?.key?.freeModelDailyRequests !== undefined
  const complete =
    cached.fresh !== undefined &&
    !stale &&
    (o.managementKey === undefined || cached.fresh.credits !== undefined)
  if (cached.fresh !== undefined && complete)
    return { ...cached.fresh, warnings: [], ...learned } satisfies Discovered
  const found = yield* (yield* Providers).discover({
    baseUrl: o.baseUrl,
    apiKey: o.apiKey,
    managementKey: o.managementKey
  })
  if (found.key !== undefined || found.credits !== undefined)
    yield* o.copies.update(o.baseUrl, o.fingerprint, AccountCache.withFound(o.nowMs, found))
  return { ...found, fetchedAt: o.nowMs, ...learned } satisfies Discovered
})

/**
 * The account a plan (or `runner quota`) takes: what the pipeline declares, joined with what the
 * provider says and earlier runs learned; and what could not be discovered, as warnings.
 */
export interface ResolveOptions {
  /** The key variables (read at the edge), by name. */
  readonly keys: KeyVariables
  readonly baseUrl: string
  /** The base URL came from `--base-url` (the management key may go there). */
  readonly baseUrlGiven: boolean
  readonly apiKeyEnv: string
  readonly fingerprint: string
  readonly declared: Parameters<typeof accountFacts>[0]
  readonly policy: Parameters<typeof accountFacts>[2]
  readonly now: Date
  /** Ask the provider again when the copy kept holds its free counter (a run needs today's count). */
  readonly refreshCounter?: boolean | undefined
  /** The endpoint has OpenRouter's account calls (`provider.kind: openrouter`); else nothing is asked. */
  readonly ask?: boolean | undefined
}

export const resolveAccount = Effect.fn("Account.resolve")(function* (
  o: ResolveOptions,
  copies: AccountCopiesShape
) {
  const apiKey = o.ask === false ? undefined : keyFor(o.keys, o.apiKeyEnv, o.baseUrl, o.baseUrlGiven)
  const withheld = o.ask !== false && apiKey === undefined && o.keys.get(o.apiKeyEnv) !== undefined
  const discovered = yield* discoverAccount({
    baseUrl: o.baseUrl,
    apiKey,
    managementKey:
      o.ask === false ? undefined : keyFor(o.keys, MANAGEMENT_KEY_ENV, o.baseUrl, o.baseUrlGiven),
    fingerprint: o.fingerprint,
    copies,
    nowMs: o.now.getTime(),
    refreshCounter: o.refreshCounter === true
  })
  const facts: AccountFacts = accountFacts(o.declared, discovered, o.policy, o.now)
  const notAsked = withheld
    ? [`the account was not asked: ${keyWithheld(o.baseUrl, `the key in ${o.apiKeyEnv}`)}`]
    : []
  return { facts, warnings: [...notAsked, ...discovered.warnings] }
})
