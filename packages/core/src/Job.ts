/** What the engine is asked to send (`Job`), what it answers (`Completion`), and how it fails. */
import type * as Catalog from "@tollgate/pricing/Catalog"
import type * as Money from "@tollgate/pricing/Money"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { ChatReply } from "./ChatReply.ts"
import type { ChatRequest } from "./Provider.ts"

/**
 * Which request a job is, as data: its step, and for a `for_each` the item (its index) or the
 * pack (its first item, and how many items it holds). Events carry these fields; the label
 * people read (`summarize[3]`) is made from them and never parsed back.
 */
export interface JobRef {
  readonly step: string
  readonly item?: number
  /** Items in the request, when it is a pack of more than one. */
  readonly pack?: number
}

/** `summarize`, `summarize[3]`, `classify[0..9, 10 items]`. */
export const labelOf = (r: JobRef): string =>
  r.item === undefined
    ? r.step
    : r.pack === undefined
      ? `${r.step}[${r.item}]`
      : `${r.step}[${r.item}..${r.item + r.pack - 1}, ${r.pack} items]`

/** One attempt of one request, as a key (a resume matches an attempt's send to its answer by it). */
export const attemptKey = (r: JobRef, attempt: number): string =>
  JSON.stringify([r.step, r.item ?? null, r.pack ?? null, attempt])

export interface Job {
  /** Which request this is (events carry it; messages show `labelOf(ref)`). */
  readonly ref: JobRef
  readonly request: ChatRequest
  /** The models the request may be billed at (a fallback list), first = primary. */
  readonly models: ReadonlyArray<Catalog.Model>
  /** Every model in the list is free: the request counts against the free quota and rpm. */
  readonly free: boolean
  /** The most this request can cost (prompt bound + max_tokens at the most expensive model). */
  readonly worstCost: Money.Usd
  readonly maxAttempts: number
  readonly useCache: boolean
  /** The request's cache key when the caller already has it (it hashes the whole body). */
  readonly cacheKey?: string | undefined
  /** Bounds requests in flight (e.g. a Semaphore's `withPermits(1)`); held for the send only. */
  readonly inflight?: (<A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>) | undefined
  /**
   * Checks a successful reply (e.g. JSON schema) and reads its output: a problem fails the
   * attempt (retried); the output is the completion's, so the reply is read once.
   */
  readonly check?: ((reply: ChatReply) => Checked) | undefined
  /**
   * The provider's daily free-model cap fails this request (`RequestFailed` with `freeQuota`)
   * instead of stopping the run: its caller has another way to answer it (a paid overflow model).
   */
  readonly freeQuotaFails?: boolean | undefined
}

/** What a job's check makes of a reply: its output, or why it is no answer. */
export type Checked =
  | { readonly _tag: "output"; readonly output: unknown }
  | { readonly _tag: "problem"; readonly problem: string }

export interface UsageCounts {
  readonly promptTokens: number
  readonly completionTokens: number
  readonly reasoningTokens: number
  readonly cachedTokens: number
}

export interface Completion {
  /** The body as the provider sent it (what the cache keeps). */
  readonly body: unknown
  /** The body decoded once (`ChatReply`). */
  readonly reply: ChatReply
  /** What the job's check read from the reply (the step's output), when it has a check. */
  readonly output: unknown
  readonly cached: boolean
  readonly attempts: number
  /** Attempts that timed out (counted in `cost` at their worst case). */
  readonly abandoned: number
  readonly rateLimited: number
  /** What this request cost in total, failed-but-billed attempts included. */
  readonly cost: Money.Usd
  /**
   * Where `cost` came from: `usage` (the provider's `usage.cost`), `catalog` (its token counts ×
   * catalog prices: no cost in the reply), `bound` (no usage at all: the request's worst case),
   * `cache` (nothing billed).
   */
  readonly costSource: "usage" | "catalog" | "bound" | "cache"
  readonly catalogCost: Money.Usd | undefined
  /** Of `cost`, what its attempts were estimated at: tokens × catalog (no `usage.cost`), and worst cases (no usage, or timed out). */
  readonly estimated: { readonly catalog: Money.Usd; readonly bound: Money.Usd }
  readonly usage: UsageCounts | undefined
  readonly model: string | undefined
}

/** A request that failed for good. `costUsd` is what its attempts were billed (exact decimal). */
export class RequestFailed extends Schema.TaggedError<RequestFailed>()("RequestFailed", {
  label: Schema.String,
  status: Schema.optional(Schema.Number),
  attempts: Schema.Number,
  abandoned: Schema.Number,
  rateLimited: Schema.Number,
  costUsd: Schema.String,
  /** Of `costUsd`, estimated as tokens × catalog, and at worst cases (exact decimal USD). */
  estimatedCatalogUsd: Schema.optional(Schema.String),
  estimatedBoundUsd: Schema.optional(Schema.String),
  message: Schema.String,
  /** Its last attempt was answered, and the answer failed the job's `check` (a reply of the wrong shape). */
  invalidReply: Schema.optional(Schema.Boolean),
  /** The provider's daily free-model cap refused it (a job with `freeQuotaFails`). */
  freeQuota: Schema.optional(Schema.Boolean)
}) {}

export const StopReason = Schema.Literals([
  "credits",
  "provider-budget",
  "daily-free-quota",
  "unauthorized",
  "budget",
  "free-quota",
  "interrupted",
  "failed",
  "store",
  "request-too-big"
])
export type StopReason = typeof StopReason.Type

/** The run stopped: no new request goes out; those in flight settle. */
export class RunStopped extends Schema.TaggedError<RunStopped>()("RunStopped", {
  reason: StopReason,
  message: Schema.String,
  resetAtMs: Schema.optional(Schema.Number)
}) {}
