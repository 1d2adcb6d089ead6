/**
 * What the attempts of one request share: the state they fill in, the failure that asks for
 * another attempt (`Retryable`), what an attempt sends (`Sent`), and how a lost store or a stop
 * ends the run.
 */
import * as Money from "@tollgate/pricing/Money"
import * as Policy from "@tollgate/pricing/Policy"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Reservation } from "./Budget.ts"
import type { EngineContext } from "./EngineContext.ts"
import { RunStopped } from "./Job.ts"
import type { Slot } from "./Limits.ts"
import type { Outcome } from "./Provider.ts"
import { StoreLost } from "./StoreLost.ts"

/** What one request's attempts have used so far. */
export interface RequestState {
  attempt: number
  /** Attempts that timed out: the provider may still bill them, so they count at their worst case. */
  abandoned: number
  rateLimited: number
  /** Billed across attempts, failed-but-billed ones included. */
  spent: Money.Usd
  /** Of `spent`, estimated as tokens × catalog (no `usage.cost`), and at worst cases (no usage, timed out). */
  estimatedCatalog: Money.Usd
  estimatedBound: Money.Usd
  lastStatus: number | undefined
  lastMessage: string
}

export const newRequestState = (): RequestState => ({
  attempt: 0,
  abandoned: 0,
  rateLimited: 0,
  spent: Money.zero,
  estimatedCatalog: Money.zero,
  estimatedBound: Money.zero,
  lastStatus: undefined,
  lastMessage: "no attempt made"
})

/** An attempt the policy says may be tried again, after `delayMs`. */
export class Retryable extends Schema.TaggedError<Retryable>()("Retryable", {
  reason: Schema.String,
  /** How long the request waits; a provider-given pause is waited out by the whole bucket. */
  delayMs: Schema.Number,
  /** A 429 whose wait the provider gave: it does not use up `max_attempts`. */
  providerWait: Schema.Boolean,
  message: Schema.String,
  at: Schema.Number
}) {}

/** An attempt that went out: its budget reservation, what came back, and its pacing slot. */
export type Sent = { readonly reservation: Reservation; readonly outcome: Outcome; readonly slot: Slot }

/** When a limit resets, with how long until then. */
export const resetText = (resetAtMs: number, nowMs: number): string => {
  const mins = Math.max(0, Math.ceil((resetAtMs - nowMs) / 60_000))
  return `${Policy.isoInstant(new Date(resetAtMs))} (in ${Math.floor(mins / 60)}h ${mins % 60}m)`
}

/** Stops the run, and fails with the reason. */
export const stopWith = (ctx: EngineContext, reason: RunStopped) =>
  Effect.andThen(ctx.stopper.stop(reason), Effect.fail(reason))

/** The shared store stopped answering (or the ledger failed): no new request; those in flight settle. */
export const storeStop = (e: { readonly message: string }) =>
  new RunStopped({ reason: "store", message: `${e.message}; no new requests, those in flight are recorded` })

/** Runs a store operation; losing the store stops the run. */
export const orStop = <A, E>(ctx: EngineContext, op: Effect.Effect<A, E | StoreLost>) =>
  Effect.catchIf(
    op,
    (e): e is StoreLost => e instanceof StoreLost,
    (e) => stopWith(ctx, storeStop(e))
  )
