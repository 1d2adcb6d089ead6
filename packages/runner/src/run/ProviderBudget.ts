/**
 * `budget.enforce: provider` (or `--enforce-budget provider`): the budget held at the provider
 * too. With a management key, the run mints a key capped at what is left of its budget, with an
 * expiry (`POST /keys`), sends with it, and deletes it when the run ends, interrupted or not; the
 * provider then refuses (402) anything past the cap even if the runner dies. The minted key lives
 * in memory only: never printed, logged or written.
 */
import * as Money from "@tollgate/pricing/Money"
import * as Effect from "effect/Effect"
import { InputInvalid, ProviderKeyFailed } from "../Errors.ts"
import type { Planned } from "../plan/Plan.ts"
import { type KeyVariables, keyFor, keyWithheld, MANAGEMENT_KEY_ENV } from "../providers/KeyRoute.ts"
import { Providers } from "../providers/Providers.ts"
import type { OnEvent } from "./Events.ts"

/** A minted key stops working after this long even if it is never deleted (a killed run). */
export const KEY_TTL_MS = 24 * 3_600_000

export interface ProviderBudgetOptions {
  /** The key variables (read at the edge), by name. */
  readonly keys: KeyVariables
  readonly enforce: "runner" | "provider" | undefined
  /** What is left of the run's budget (its share, less what earlier attempts at it spent). */
  readonly remaining: Money.Usd | undefined
  /** Names the key at the provider (the run's id). */
  readonly name: string
  readonly nowMs: number
  readonly onEvent: OnEvent
}

/** The key this run sends with: one minted for it (deleted when the scope closes), or undefined for the pipeline's own. */
export const runKey = Effect.fnUntraced(function* (planned: Planned, o: ProviderBudgetOptions) {
  if ((o.enforce ?? planned.validated.pipeline.budget.enforce) !== "provider") return undefined
  const providers = yield* Providers
  // echo and --offline send nothing: there is no spending to cap
  if (!providers.isAccount(planned.baseUrl)) return undefined
  const set = o.keys.get(MANAGEMENT_KEY_ENV) !== undefined
  if (!set)
    return yield* new InputInvalid({
      message: `budget.enforce: provider mints a key for the run, and needs a management key in ${MANAGEMENT_KEY_ENV}; nothing was sent`
    })
  const managementKey = keyFor(o.keys, MANAGEMENT_KEY_ENV, planned.baseUrl, planned.baseUrlGiven)
  if (managementKey === undefined)
    return yield* new InputInvalid({
      message: `budget.enforce: provider: ${keyWithheld(planned.baseUrl, "the management key")}; nothing was sent`
    })
  if (o.remaining === undefined)
    return yield* new InputInvalid({
      message:
        "budget.enforce: provider caps the run's key at budget.max_cost_usd (or --max-cost), and none is set; nothing was sent"
    })
  const baseUrl = planned.baseUrl
  const minted = yield* Effect.acquireRelease(
    providers.keys
      .mint({
        baseUrl,
        managementKey,
        name: `tollgate ${o.name}`,
        limitUsd: Money.toNumber(Money.max(o.remaining, Money.zero)),
        expiresAt: new Date(o.nowMs + KEY_TTL_MS).toISOString()
      })
      .pipe(
        Effect.mapError(
          (m) =>
            new ProviderKeyFailed({ message: `could not mint the run's capped key: ${m}; nothing was sent` })
        )
      ),
    (k) =>
      Effect.catch(providers.keys.remove({ baseUrl, managementKey, hash: k.hash }), (m) =>
        Effect.sync(() =>
          o.onEvent({
            type: "warning",
            message: `could not delete the run's key (${k.hash}) at the provider: ${m}; it expires by itself within a day`
          })
        )
      )
  )
  return minted.key
})
