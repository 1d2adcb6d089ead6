/** Everything one request's attempts work with: the run's services, its policy and its stop switch. */
import type * as Policy from "@tollgate/pricing/Policy"
import type * as Effect from "effect/Effect"
import type * as Ref from "effect/Ref"
import type { BudgetShape } from "./Budget.ts"
import type { EngineEvent } from "./EngineEvent.ts"
import type { InFlightShape } from "./InFlight.ts"
import type { LimitsShape } from "./Limits.ts"
import type { ProviderShape } from "./Provider.ts"
import type { QuotaLedgerShape } from "./QuotaLedger.ts"
import type { ResponseCacheShape } from "./ResponseCache.ts"
import type { RetryConfig } from "./Retry.ts"
import type { Stopper } from "./Stopper.ts"

export interface EngineConfig {
  readonly fingerprint: string
  readonly policy: Policy.Policy
  readonly creditsPurchasedUsd: number
  /** Free-model requests this run may count today, when known better than the policy's tier (the provider's counter). */
  readonly dailyLimit?: number | undefined
  readonly retry?: RetryConfig | undefined
  readonly onEvent?: ((e: EngineEvent) => void) | undefined
  /**
   * Done once the events `onEvent` was given are durable (the run's records gather them): a
   * request goes out only after its attempt's event is. Default: nothing to wait for.
   */
  readonly recorded?: Effect.Effect<void> | undefined
}

export interface EngineContext {
  readonly fingerprint: string
  readonly provider: ProviderShape
  readonly limits: LimitsShape
  readonly ledger: QuotaLedgerShape
  readonly budget: BudgetShape
  readonly cache: ResponseCacheShape
  /** The provider's in-flight spending budget for paid requests, as learned from its refusals. */
  readonly inFlight: InFlightShape
  readonly emit: (e: EngineEvent) => void
  /** Done once what `emit` was given is durable (`EngineConfig.recorded`). */
  readonly recorded: Effect.Effect<void>
  /** Free-model requests a day for this account. */
  readonly dailyLimit: number
  readonly retry: RetryConfig
  readonly stopper: Stopper
  /** The daily free tier a free model's reply named (`X-RateLimit-Limit`), the latest. */
  readonly learnedTier: Ref.Ref<number | undefined>
}
