/**
 * Where the account's copies are kept (`AccountCache`'s shape): the state dir's files, or a shared
 * store. The `StateStore` gives one; the account room asks only for this.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { Cached } from "./AccountCache.ts"

export interface AccountCopiesShape {
  /** The copy for this endpoint and key (empty when there is none, or it is damaged). */
  readonly read: (baseUrl: string, fingerprint: string) => Effect.Effect<Cached>
  /** Best effort: a failure only means the next plan asks the provider again. */
  readonly update: (baseUrl: string, fingerprint: string, f: (c: Cached) => Cached) => Effect.Effect<void>
}

export class AccountCopies extends Context.Service<AccountCopies, AccountCopiesShape>()(
  "@tollgate/runner/account/AccountCopies"
) {}
