/**
 * OpenRouter's bill for one request: `GET {base_url}/generation?id=<generation id>` answers
 * `total_cost` (what the account was charged) and the native token counts. The record appears a
 * few seconds after the answer: until then the provider says 404, which is `pending`, not a
 * failure. Bounded (5 s, 256 KiB); the key goes only in Authorization and never into a message.
 */
import * as Http from "@tollgate/core/Http"
import * as Money from "@tollgate/pricing/Money"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { bearer } from "./KeyRoute.ts"
import { redact } from "./Redact.ts"

const LIMITS: Http.FetchLimits = { timeoutMs: 5_000, maxBytes: 256 * 1024 }

const Count = Schema.optionalKey(Schema.NullOr(Schema.Number))
const GenerationResponse = Schema.Struct({
  data: Schema.Struct({
    id: Schema.String,
    total_cost: Schema.Number.check(Schema.isFinite(), Schema.isGreaterThanOrEqualTo(0)),
    native_tokens_prompt: Count,
    native_tokens_completion: Count,
    model: Schema.optionalKey(Schema.NullOr(Schema.String))
  })
})
const decode = Schema.decodeUnknownOption(GenerationResponse)

/** What the provider says of one generation. */
export type Lookup =
  | {
      readonly _tag: "settled"
      readonly totalCost: Money.Usd
      readonly nativePrompt: number | undefined
      readonly nativeCompletion: number | undefined
    }
  /** Not recorded yet (404), or a transient failure worth asking again (429, 5xx, a timeout). */
  | { readonly _tag: "pending"; readonly why: string }
  /** Asking again will not help (401, 403, a shape we do not know). */
  | { readonly _tag: "failed"; readonly why: string }

const transient = (f: Http.FetchFailure) =>
  f.reason === "timeout" ||
  f.reason === "network" ||
  (f.reason === "http" && (f.status === 404 || f.status === 429 || f.status >= 500))

const count = (n: number | null | undefined) => (typeof n === "number" && Number.isFinite(n) ? n : undefined)

/** Asks for one generation's bill. Never fails: every answer is a `Lookup`. */
export const lookup = (
  baseUrl: string,
  key: Redacted.Redacted<string> | undefined,
  id: string
): Effect.Effect<Lookup> =>
  Effect.tryPromise({
    try: () =>
      Http.getJson(
        `${baseUrl}/generation?id=${encodeURIComponent(id)}`,
        LIMITS,
        key === undefined ? {} : bearer(key)
      ),
    catch: (e) => e
  }).pipe(
    Effect.map((json): Lookup => {
      const r = Option.getOrUndefined(decode(json))
      if (r === undefined || r.data.id !== id)
        return { _tag: "failed", why: `GET /generation answered in a shape we do not know` }
      return {
        _tag: "settled",
        totalCost: Money.fromNumber(r.data.total_cost),
        nativePrompt: count(r.data.native_tokens_prompt),
        nativeCompletion: count(r.data.native_tokens_completion)
      }
    }),
    Effect.catch((e) =>
      Effect.succeed<Lookup>(
        e instanceof Http.FetchError
          ? {
              _tag: transient(e.failure) ? "pending" : "failed",
              why: redact(e.failure.message, key)
            }
          : { _tag: "failed", why: redact(String(e), key) }
      )
    )
  )
