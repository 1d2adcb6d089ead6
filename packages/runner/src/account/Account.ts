/**
 * The account as one service: what plan, run and `runner quota` take as the account (what the
 * pipeline declares, joined with what the provider says and what earlier runs learned), and the
 * free tier a run's replies named, remembered for later plans. Its parts are in this room:
 * `AccountPolicy` (the policy and fingerprint of a pipeline's account), `AccountFacts` (the
 * figures and their sources, pure), `Discovery` (asking the provider, with a short-lived copy),
 * `AccountCache` (that copy and the learned tier) and `AccountCopies` (where they are kept: the
 * state store gives it).
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Providers } from "../providers/Providers.ts"
import { withLearned } from "./AccountCache.ts"
import { AccountCopies } from "./AccountCopies.ts"
import type { AccountFacts } from "./AccountFacts.ts"
import { type ResolveOptions, resolveAccount } from "./Discovery.ts"

export interface AccountShape {
  /** The account a plan takes, and what could not be discovered (as warnings). */
  readonly resolve: (
    o: ResolveOptions
  ) => Effect.Effect<{ readonly facts: AccountFacts; readonly warnings: ReadonlyArray<string> }>
  /** A free tier a run's replies named (`X-RateLimit-Limit`), remembered for later plans of this key and endpoint. */
  readonly learned: (o: {
    readonly baseUrl: string
    readonly fingerprint: string
    readonly freePerDay: number
    readonly nowMs: number
  }) => Effect.Effect<void>
}

export class Account extends Context.Service<Account, AccountShape>()("@tollgate/runner/account/Account") {
  /** The account over the provider the run talks to, its copies where `AccountCopies` keeps them (the state store). */
  static readonly layer: Layer.Layer<Account, never, Providers | AccountCopies> = Layer.effect(
    Account,
    Effect.gen(function* () {
      const providers = yield* Providers
      const copies = yield* AccountCopies
      return {
        resolve: (o) => resolveAccount(o, copies).pipe(Effect.provideService(Providers, providers)),
        learned: (o) => copies.update(o.baseUrl, o.fingerprint, withLearned(o.nowMs, o.freePerDay))
      }
    })
  )
}
