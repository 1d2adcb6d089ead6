/** The pipeline DSL, version 1, as typed values with defaults applied (`PipelineSpec.ts` is the document as written). */

import type { InputSpec, Message, PipelineSpec, StepSpec } from "./PipelineSpec.ts"

export type { InputSpec, Message, ModelRef, PipelineSpec, StepSettings, StepSpec } from "./PipelineSpec.ts"

/** A step with the pipeline's defaults applied. */
/** `provider.kind`: which vendor's request fields and account calls an endpoint takes. */
export type ProviderKind = "openrouter" | "openai"

/** OpenRouter's provider preferences as the request's `provider` object takes them. */
const routingOf = (spec: PipelineSpec): Record<string, unknown> => {
  const { price_markup: _, ...prefs } = spec.provider?.routing ?? {}
  return prefs
}

export interface Step {
  readonly index: number
  readonly id: string
  /** The pipeline's `provider.kind`: whose fields its requests carry. */
  readonly vendor: ProviderKind
  readonly models: ReadonlyArray<string>
  readonly maxTokens: number
  readonly temperature: number | undefined
  readonly topP: number | undefined
  readonly params: Readonly<Record<string, unknown>>
  readonly maxAttempts: number
  readonly timeoutMs: number
  readonly cache: boolean
  readonly messages: ReadonlyArray<Message>
  /** Where each message's template sits in the YAML (for diagnostics). */
  readonly messagePaths: ReadonlyArray<ReadonlyArray<string | number>>
  readonly forEach: string | undefined
  readonly as: string
  readonly maxItems: number | undefined
  /** Items per request of a `for_each` step (`pack`; 1: one request per item). */
  readonly pack: number
  readonly needs: ReadonlyArray<string>
  readonly when: string | undefined
  readonly format: "text" | "json"
  /** A reply cut off at `max_tokens` is an answer (text steps, by default) or a failed attempt (JSON). */
  readonly allowTruncated: boolean
  readonly schema: Readonly<Record<string, unknown>> | undefined
  readonly continueOnError: boolean
  /**
   * The paid model a free step's requests overflow to when the deadline needs them (`overflow:`;
   * by default the free model's paid variant, its id without `:free`); undefined: no overflow.
   */
  readonly overflow: string | undefined
}

export interface Pipeline {
  readonly name: string
  readonly description: string | undefined
  readonly baseUrl: string
  readonly apiKeyEnv: string
  readonly headers: Readonly<Record<string, string>>
  /** Which vendor's fields and calls the endpoint takes: OpenRouter's (the default), or plain OpenAI's. */
  readonly providerKind: ProviderKind
  /** OpenRouter's provider preferences, as sent (`price_markup` apart: it widens `max_price`). */
  readonly routing: Readonly<Record<string, unknown>>
  /** How far above the catalog's price an endpoint may bill (0.25: 25%); the plan prices it. */
  readonly priceMarkup: number
  /** `account:` as declared (undefined: discovered from the provider, else the default). */
  readonly creditsPurchasedUsd: number | undefined
  readonly balanceUsd: number | undefined
  readonly budget: {
    readonly maxCostUsd: number | undefined
    readonly maxRequests: number | undefined
    readonly maxFreeRequests: number | undefined
    readonly gate: "max" | "expected"
    readonly shared: string | undefined
    /** `provider`: the run sends with a key minted for it, capped at its budget at the provider too. */
    readonly enforce: "runner" | "provider"
  }
  readonly concurrency: number
  /** The window `rpm` limits count over, and the jitter margin added to it (undefined: the defaults). */
  readonly rateWindow: { readonly windowMs: number | undefined; readonly marginMs: number | undefined }
  readonly modelLimits: Readonly<Record<string, { readonly rpm?: number }>>
  readonly freeLimits: {
    readonly rpm?: number
    readonly scope?: "account" | "model"
    readonly per_day?: number
  }
  readonly cacheEnabled: boolean
  readonly cacheTtlMs: number | undefined
  readonly inputs: Readonly<Record<string, InputSpec>>
  readonly steps: ReadonlyArray<Step>
  readonly outputs: Readonly<Record<string, string>>
  /** `deadline:` as written (an instant, or a duration from the run's start). */
  readonly deadline: string | undefined
}

export const DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
export const DEFAULT_API_KEY_ENV = "OPENROUTER_API_KEY"
export const DEFAULT_CONCURRENCY = 8
export const DEFAULT_MAX_ATTEMPTS = 3
export const DEFAULT_TIMEOUT_MS = 120_000

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `120s`, `7d`, `500ms` → milliseconds. */
export const parseDuration = (text: string): number | undefined => {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text)
  return m ? Number(m[1]) * UNIT_MS[m[2]!]! : undefined
}

/** The messages a step sends, and where each template is in the YAML. */
export const stepMessages = (
  s: StepSpec,
  index: number
): { messages: Message[]; paths: Array<Array<string | number>> } => {
  if (s.messages !== undefined)
    return {
      messages: [...s.messages],
      paths: s.messages.map((_, i) => ["steps", index, "messages", i, "content"])
    }
  const messages: Message[] = []
  const paths: Array<Array<string | number>> = []
  if (s.system !== undefined) {
    messages.push({ role: "system", content: s.system })
    paths.push(["steps", index, "system"])
  }
  if (s.prompt !== undefined) {
    messages.push({ role: "user", content: s.prompt })
    paths.push(["steps", index, "prompt"])
  }
  return { messages, paths }
}

/** The overflow model of a step: the one named, else the paid variant of its (first) free model. */
export const overflowOf = (
  overflow: { readonly model?: string | undefined } | undefined,
  models: ReadonlyArray<string>
): string | undefined =>
  overflow === undefined ? undefined : (overflow.model ?? models[0]?.replace(/:free$/, ""))

/** Applies defaults. Call after schema validation and the semantic checks that need the spec. */
export const resolve = (spec: PipelineSpec): Pipeline => {
  const d = spec.defaults ?? {}
  const cacheEnabled = spec.cache?.enabled ?? true
  return {
    name: spec.name,
    description: spec.description,
    baseUrl: spec.provider?.base_url ?? DEFAULT_BASE_URL,
    apiKeyEnv: spec.provider?.api_key_env ?? DEFAULT_API_KEY_ENV,
    headers: spec.provider?.headers ?? {},
    providerKind: spec.provider?.kind ?? "openrouter",
    routing: routingOf(spec),
    priceMarkup: spec.provider?.routing?.price_markup ?? 0,
    creditsPurchasedUsd: spec.account?.credits_purchased_usd,
    balanceUsd: spec.account?.balance_usd,
    budget: {
      maxCostUsd: spec.budget?.max_cost_usd,
      maxRequests: spec.budget?.max_requests,
      maxFreeRequests: spec.budget?.max_free_requests,
      gate: spec.budget?.gate ?? "max",
      shared: spec.budget?.shared,
      enforce: spec.budget?.enforce ?? "runner"
    },
    concurrency: spec.limits?.concurrency ?? DEFAULT_CONCURRENCY,
    rateWindow: {
      windowMs: parseDuration(spec.limits?.window ?? ""),
      marginMs: parseDuration(spec.limits?.window_margin ?? "")
    },
    modelLimits: spec.limits?.models ?? {},
    freeLimits: spec.limits?.free ?? {},
    cacheEnabled,
    cacheTtlMs: spec.cache?.ttl !== undefined ? parseDuration(spec.cache.ttl) : undefined,
    inputs: spec.inputs ?? {},
    outputs: spec.outputs ?? {},
    deadline: spec.deadline,
    steps: spec.steps.map((s, index): Step => {
      const model = s.model ?? d.model ?? []
      const { messages, paths } = stepMessages(s, index)
      return {
        index,
        id: s.id,
        vendor: spec.provider?.kind ?? "openrouter",
        models: typeof model === "string" ? [model] : [...model],
        maxTokens: s.max_tokens ?? d.max_tokens ?? 0,
        temperature: s.temperature ?? d.temperature,
        topP: s.top_p ?? d.top_p,
        params: { ...(d.params ?? {}), ...(s.params ?? {}) },
        maxAttempts: s.retry?.max_attempts ?? d.retry?.max_attempts ?? DEFAULT_MAX_ATTEMPTS,
        timeoutMs: parseDuration(s.timeout ?? d.timeout ?? "") ?? DEFAULT_TIMEOUT_MS,
        cache: s.cache ?? d.cache ?? cacheEnabled,
        messages,
        messagePaths: paths,
        forEach: s.for_each,
        as: s.as ?? "item",
        maxItems: s.max_items,
        pack: s.pack ?? 1,
        needs: s.needs ?? [],
        when: s.when,
        format: s.output?.format ?? "text",
        allowTruncated: (s.output?.truncated ?? (s.output?.format === "json" ? "fail" : "allow")) === "allow",
        schema: s.output?.schema,
        continueOnError: s.continue_on_error ?? false,
        overflow: overflowOf(s.overflow ?? d.overflow, typeof model === "string" ? [model] : model)
      }
    })
  }
}
