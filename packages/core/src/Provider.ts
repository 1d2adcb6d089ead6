/** The one seam to the network: send one chat request, get back what the provider said. */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"

/** A response as the provider returned it, or a transport failure. */
export type Outcome =
  | {
      readonly _tag: "Response"
      readonly status: number
      readonly headers: Readonly<Record<string, string | undefined>>
      readonly body: unknown
      /** The body's JSON text as received, when `body` is exactly its parse (a cache stores it as is). */
      readonly text?: string
    }
  | {
      readonly _tag: "Transport"
      readonly reason: "timeout" | "reset" | "connect" | "other"
      readonly message: string
    }

/** The fields of a chat body the engine reads back (to explain a refusal); the rest passes through. */
export interface ChatBody extends Readonly<Record<string, unknown>> {
  readonly max_tokens?: number
  readonly provider?: { readonly max_price?: { readonly prompt: number; readonly completion: number } }
}

export interface ChatRequest {
  /** `https://openrouter.ai/api/v1`, or any OpenAI-compatible base URL. */
  readonly baseUrl: string
  /** The JSON body of `POST {baseUrl}/chat/completions` (model or models, messages, max_tokens, …). */
  readonly body: ChatBody
  readonly timeoutMs: number
}

export interface ProviderShape {
  /** Never fails: transport errors are an `Outcome` too, so the retry policy sees everything. */
  readonly send: (request: ChatRequest) => Effect.Effect<Outcome>
}

export class Provider extends Context.Service<Provider, ProviderShape>()("@tollgate/core/Provider") {}
