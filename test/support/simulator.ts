/**
 * An OpenAI-compatible server on loopback that plays OpenRouter for the end-to-end suite and
 * benchmarks: it prices replies from the catalog and returns `usage.cost`, enforces per-model
 * rpm and a daily free quota (every attempt counts), answers 429 with Retry-After, 402 when its
 * balance runs out, injects 5xx, resets and latency on request, and logs every attempt.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { CatalogStore } from "@tollgate/core"
import { type Catalog, Cost, Money } from "@tollgate/pricing"
import { replyContent } from "@tollgate/runner/providers/EchoProvider"
import { countTokens } from "gpt-tokenizer/encoding/o200k_base"

/** `404`: the model is gone (as a free model may be, at any time). */
export type Fault = "5xx" | "reset" | "400" | "404" | undefined

/** A hostile endpoint quotes the caller's Authorization back, in these shapes. */
export type Quote =
  | "400"
  | "401"
  | "429"
  | "500"
  | "200-error"
  | "detail"
  | "text"
  | "header"
  | "escaped"
  | undefined

export interface SimOptions {
  readonly catalog?: Catalog.Catalog
  /** Requests per window for each model (accepted ones count). */
  readonly rpm?: number | Readonly<Record<string, number>>
  readonly windowMs?: number
  /** Free-model attempts per day; every attempt counts, failed ones too. */
  readonly freePerDay?: number
  /** Credits: a request that would pass this is answered 402 and not billed. */
  readonly balanceUsd?: number
  /** After this many successes, answer 403 "Workspace monthly budget … exceeded" (a provider-side budget). */
  readonly budgetAfter?: number
  /** Leave the limit out of rate-limit 429s (no "limited to N", no X-RateLimit-* headers). */
  readonly unstatedLimit?: boolean
  /** Required bearer key; a wrong or missing one gets 401. */
  readonly apiKey?: string
  readonly latencyMs?: number | ((n: number, body: Record<string, unknown>) => number)
  /** Decides a fault for the n-th attempt (1-based). */
  readonly fault?: (n: number, body: Record<string, unknown>) => Fault
  /** For the n-th attempt, quote the Authorization header back (a hostile or careless endpoint). */
  readonly quoteKey?: (n: number) => Quote
  /** The reply text for the n-th attempt (default: a schema sample for JSON requests, else `sim reply n`). */
  readonly reply?: (body: Record<string, unknown>, n: number) => string | undefined
  /** Completion tokens a reply uses (default: min(max_tokens, 20)). */
  readonly completionTokens?: (body: Record<string, unknown>) => number
  /** The account `GET /key` and `GET /credits` describe (default: not on the free tier, no key limit, no management key). */
  readonly account?: {
    readonly isFreeTier?: boolean
    /** The calling key's own cap (USD); its usage is what the simulator billed it. */
    readonly keyLimit?: number
    readonly totalCredits?: number
    readonly totalUsage?: number
    /** A careless `POST /keys`: the key made without a limit (`limit: null`), or a key with CR/LF in it. */
    readonly mint?: "ignores-limit" | "crlf-key"
    /** The management key `/credits` and `/keys` accept. */
    readonly managementKey?: string
  }
  /** `X-RateLimit-Limit` on free-model replies: the daily tier (50 or 1000). */
  readonly freeTierHeader?: number
  /** How prompts are billed: o200k tokens (default), or one token per 4 bytes (as many non-OpenAI tokenizers come out on such text). */
  readonly promptTokenizer?: "o200k" | "bytes/4"
  /** Per model: the provider's prompt count over ours (a tokenizer gap: 1.3 bills 30% more). */
  readonly promptScale?: Readonly<Record<string, number>>
  /**
   * OpenRouter's in-flight spending budget (USD): each paid request is estimated at its prompt
   * plus `max_tokens` at the price while in flight; past the budget, 402 `in_flight_budget_exhausted`
   * with Retry-After; one request bigger than the whole budget, 402 `weight_exceeds_budget`.
   */
  readonly inFlightBudgetUsd?: number
  /** Free-model requests the account used today through other keys and clients (`/key` counts them). */
  readonly freeUsedElsewhere?: number
  /** A budget layer: 403 with its metadata once what this simulator billed passes `limitUsd - spendUsd`. */
  readonly budgetLayer?: {
    readonly limitSource:
      | "openrouter_guardrail_budget"
      | "openrouter_workspace_budget"
      | "openrouter_key_limit"
    readonly scope: string
    readonly limitUsd: number
    readonly spendUsd: number
    readonly resetsAt: string
  }
  /**
   * The default route bills at the catalog price × this (routing by effective cost), unless the
   * request bounds it with `provider.max_price` (USD per million tokens) or `provider.sort: "price"`;
   * a `max_price` below the catalog price: 404, no endpoint.
   */
  readonly routeMarkup?: number
  /** A careless server's 200 for the n-th attempt: no choices, null content, cut off, filtered, or without usage. */
  readonly replyShape?: (
    n: number
  ) => "no-choices" | "null-content" | "length" | "filtered" | "no-usage" | undefined
  /** The first n attempts get OpenAI's 429: "Please try again in 1s.", `x-ratelimit-reset-requests: 1s`, no Retry-After. */
  readonly openaiRateLimited?: number
  /** A strict OpenAI-compatible server: a request field outside OpenAI's chat-completions API is a 400. */
  readonly strict?: boolean
  /**
   * `GET /generation?id=`: the bill of each answer appears `lagMs` after it (404 until then);
   * `drift(n)` is the share the bill of the n-th attempt differs from the reply's `usage.cost`
   * (0.1: billed 10% more); `nativePrompt` the prompt tokens the bill names (else the reply's).
   */
  readonly generation?: {
    readonly lagMs?: number
    readonly drift?: (n: number) => number
    readonly nativePrompt?: (promptTokens: number) => number
    /** Answers every lookup with this status (401: the key may not read bills). */
    readonly status?: number
  }
}

/** One answer's bill as `/generation` tells it. */
interface Generation {
  readonly answeredAt: number
  readonly totalCost: Money.Usd
  readonly nativePrompt: number
  readonly completionTokens: number
  readonly model: string
}

/** The request fields OpenAI's chat-completions API takes (what a strict server accepts). */
const OPENAI_FIELDS = new Set([
  "model",
  "messages",
  "max_tokens",
  "max_completion_tokens",
  "temperature",
  "top_p",
  "frequency_penalty",
  "presence_penalty",
  "logit_bias",
  "logprobs",
  "top_logprobs",
  "n",
  "seed",
  "stop",
  "stream",
  "response_format",
  "tools",
  "tool_choice",
  "user",
  "reasoning_effort",
  "verbosity"
])

/** A key minted through `POST /keys`. */
export interface MintedKey {
  readonly hash: string
  readonly key: string
  readonly name: string
  readonly limit: number | null
  readonly expiresAt: string | null
  usage: number
  deleted: boolean
}

export interface Attempt {
  readonly n: number
  readonly at: number
  readonly model: string
  readonly status: number | "reset"
  readonly authorization: string | undefined
  readonly body: Record<string, unknown>
  readonly billed: string
  readonly key: string
  /** When the answer went out (ms since epoch). */
  readonly answeredAt: number
}

export interface Simulator {
  readonly url: string
  readonly log: Attempt[]
  /** Exact total billed. */
  billed(): Money.Usd
  successes(): Attempt[]
  /** A new day for the free quota (as at 00:00 UTC), without waiting for one. */
  rollDay(): void
  /** The budget layer resets (as at its `resetsAt`): what was billed so far no longer counts against it. */
  rollBudget(): void
  /** Keys minted through `POST /keys`, deleted ones included. */
  readonly minted: MintedKey[]
  /** Calls to `/key`, `/credits` and `/keys`, in order (method and path). */
  readonly accountCalls: string[]
  /** Generation ids asked of `/generation`, in order. */
  readonly generationCalls: string[]
  /** What the provider's bills (`/generation`'s `total_cost`) add up to. */
  settledBill(): Money.Usd
  close(): Promise<void>
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    let text = ""
    req.on("data", (c) => {
      text += c
    })
    req.on("end", () => resolve(text))
    req.on("error", reject)
  })

const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "application/json", ...headers })
  res.end(JSON.stringify(body))
}

/** A stable identity for "the same request" (what the runner would send again on a retry). */
const requestKey = (body: Record<string, unknown>) => JSON.stringify([body.model, body.models, body.messages])

export const startSimulator = async (opts: SimOptions = {}): Promise<Simulator> => {
  const catalog = opts.catalog ?? CatalogStore.bundled()
  const windowMs = opts.windowMs ?? 60_000
  const accepted = new Map<string, number[]>()
  let freeAttempts = 0
  let billed = Money.zero
  /** The in-flight budget's estimates of the paid requests being answered now. */
  let inFlightUsd = 0
  /** What was billed when the budget layer last reset. */
  let layerBase = Money.zero
  let n = 0
  const log: Attempt[] = []
  const minted: MintedKey[] = []
  const accountCalls: string[] = []
  const generationCalls: string[] = []
  const generations = new Map<string, Generation>()
  /** What each calling key was billed (its usage against its limit). */
  const usageOf = new Map<string, number>()

  const rpmFor = (model: string) => (typeof opts.rpm === "number" ? opts.rpm : opts.rpm?.[model])

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === "GET" && req.url?.endsWith("/models")) {
      send(res, 200, { data: [] })
      return
    }
    if (req.method === "GET" && /\/generation\?/.test(req.url ?? "")) {
      generationRoute(req, res)
      return
    }
    if (/\/(key|credits|keys)(\/[^/]+)?$/.test(req.url ?? "") && !req.url?.endsWith("/chat/completions")) {
      accountCalls.push(`${req.method} ${req.url?.replace(/^\/api\/v1/, "")}`)
      await accountRoute(req, res)
      return
    }
    if (req.method !== "POST" || !req.url?.endsWith("/chat/completions")) {
      send(res, 404, { error: { code: 404, message: "not found" } })
      return
    }
    const text = await readBody(req)
    const body = JSON.parse(text) as Record<string, unknown>
    const attempt = ++n
    const at = Date.now()
    const model = String(body.model)
    const authorization = req.headers.authorization
    const record = (status: number | "reset", cost = Money.zero) => {
      log.push({
        n: attempt,
        at,
        model,
        status,
        authorization,
        body,
        billed: Money.toPlain(cost),
        key: requestKey(body),
        answeredAt: Date.now()
      })
    }
    const unknown = opts.strict === true ? Object.keys(body).filter((k) => !OPENAI_FIELDS.has(k)) : []
    if (unknown.length > 0) {
      record(400)
      send(res, 400, {
        error: {
          message: `Unrecognized request argument supplied: ${unknown.join(", ")}`,
          type: "invalid_request_error"
        }
      })
      return
    }
    if (opts.openaiRateLimited !== undefined && attempt <= opts.openaiRateLimited) {
      record(429)
      send(
        res,
        429,
        {
          error: {
            message:
              "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3. Please try again in 1s.",
            type: "requests",
            code: "rate_limit_exceeded"
          }
        },
        { "x-ratelimit-reset-requests": "1s", "x-ratelimit-limit-requests": "3" }
      )
      return
    }
    const admitted = inFlightAdmit(body, model)
    if (admitted !== undefined && "refuse" in admitted) {
      record(402)
      send(res, 402, admitted.refuse.body, admitted.refuse.headers)
      return
    }
    try {
      await answer(req, res, body, attempt, at, model, authorization, record)
    } finally {
      if (admitted !== undefined) inFlightUsd -= admitted.estimate
    }
  }

  /** The in-flight budget's estimate of a paid request, and a refusal when it does not fit. */
  const inFlightAdmit = (body: Record<string, unknown>, model: string) => {
    const m = catalog.resolve(model)?.model
    if (opts.inFlightBudgetUsd === undefined || m === undefined || m.free) return undefined
    const promptTokens = promptTokensOf(body)
    const maxTokens = Number(body.max_tokens ?? 256)
    const estimate = Money.toNumber(
      Cost.cost(m, { promptTokens, completionTokens: maxTokens }, new Date()).total
    )
    const budget = opts.inFlightBudgetUsd
    if (estimate > budget) {
      const perToken = estimate / (promptTokens + maxTokens)
      const afford = Math.floor(budget / perToken)
      return {
        refuse: {
          body: {
            error: {
              code: 402,
              message: `You requested up to ${promptTokens + maxTokens} tokens, but can only afford ${afford}. To increase, visit https://openrouter.ai/settings/credits`,
              metadata: { reason: "weight_exceeds_budget", limit_source: "openrouter_credits" }
            }
          },
          headers: {}
        }
      }
    }
    if (inFlightUsd + estimate > budget + 1e-12)
      return {
        refuse: {
          body: {
            error: {
              code: 402,
              message: "Too many paid requests in flight for your balance; retry shortly",
              metadata: { reason: "in_flight_budget_exhausted", limit_source: "openrouter_in_flight_budget" }
            }
          },
          headers: { "Retry-After": "1" }
        }
      }
    inFlightUsd += estimate
    return { estimate }
  }

  const promptTokensOf = (body: Record<string, unknown>) => {
    const messages = (body.messages ?? []) as Array<{ content: string }>
    const tokensOf = (text: string) =>
      opts.promptTokenizer === "bytes/4" ? Math.ceil(Buffer.byteLength(text) / 4) : countTokens(text)
    const counted = messages.reduce((t, msg) => t + tokensOf(msg.content) + 4, 3)
    return Math.round(counted * (opts.promptScale?.[String(body.model)] ?? 1))
  }

  /** What the route bills a request: the catalog's prices, or the default route's markup unless bounded; undefined: no endpoint. */
  const routedModel = (m: Catalog.Model, body: Record<string, unknown>): Catalog.Model | undefined => {
    const markup = opts.routeMarkup ?? 1
    const provider = (body.provider ?? {}) as {
      max_price?: { prompt?: number; completion?: number }
      sort?: unknown
    }
    const max = provider.max_price
    const perMillion = (r: Catalog.Rate) => (r === null ? 0 : Money.toNumber(r) * 1e6)
    if (max !== undefined) {
      const over = (r: Catalog.Rate, cap: number | undefined) =>
        cap !== undefined && perMillion(r) > cap * (1 + 1e-9)
      if (over(m.rates.prompt, max.prompt) || over(m.rates.completion, max.completion)) return undefined
    } else if (provider.sort === "price" || markup === 1) return m
    // the endpoint that answers bills at the markup, but never above a max_price the request set
    const charged = (r: Catalog.Rate, cap: number | undefined) =>
      r === null
        ? r
        : Money.fromNumber(Math.min(perMillion(r) * markup, cap ?? Number.POSITIVE_INFINITY) / 1e6)
    return {
      ...m,
      rates: {
        ...m.rates,
        prompt: charged(m.rates.prompt, max?.prompt),
        completion: charged(m.rates.completion, max?.completion)
      }
    }
  }

  /** A chat completion that passed the in-flight budget: latency, faults, limits, and the bill. */
  const answer = async (
    req: IncomingMessage,
    res: ServerResponse,
    body: Record<string, unknown>,
    attempt: number,
    at: number,
    model: string,
    authorization: string | undefined,
    record: (status: number | "reset", cost?: Money.Usd) => void
  ) => {
    const latency =
      typeof opts.latencyMs === "function" ? opts.latencyMs(attempt, body) : (opts.latencyMs ?? 0)
    if (latency > 0) await new Promise((r) => setTimeout(r, latency))
    if (opts.apiKey !== undefined && authorization !== `Bearer ${opts.apiKey}`) {
      record(401)
      send(res, 401, { error: { code: 401, message: "No auth credentials found" } })
      return
    }
    const quote = opts.quoteKey?.(attempt)
    if (quote !== undefined) {
      const said = `invalid credentials: ${authorization ?? ""}`
      const status =
        quote === "200-error" || quote === "header"
          ? 200
          : quote === "detail" || quote === "text"
            ? 400
            : Number(quote)
      record(status)
      if (quote === "escaped") {
        // the key written with JSON unicode escapes: it decodes back to the key
        const escaped = [...(authorization ?? "")]
          .map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
          .join("")
        res.writeHead(401, { "content-type": "application/json" })
        res.end(`{"error":{"code":401,"message":"invalid credentials: ${escaped}"}}`)
      } else if (quote === "text") {
        res.writeHead(400, { "content-type": "text/plain" })
        res.end(said)
      } else if (quote === "header")
        send(
          res,
          200,
          { error: { code: 400, message: "bad request" } },
          { "X-Echo-Authorization": authorization ?? "" }
        )
      else if (quote === "detail") send(res, 400, { error: { detail: said } })
      else
        send(res, status, {
          error: {
            code: quote === "200-error" ? 400 : status,
            message: said,
            metadata: { headers: { authorization } }
          }
        })
      return
    }
    const mintedKey = minted.find((k) => authorization === `Bearer ${k.key}`)
    if (mintedKey?.deleted === true) {
      record(401)
      send(res, 401, { error: { code: 401, message: "User not found." } })
      return
    }
    const resolved = catalog.resolve(model)
    if (resolved === undefined) {
      record(400)
      send(res, 400, { error: { code: 400, message: `${model} is not a valid model ID` } })
      return
    }
    const m = resolved.model
    if (m.free) {
      freeAttempts++
      if (opts.freePerDay !== undefined && freeAttempts + (opts.freeUsedElsewhere ?? 0) > opts.freePerDay) {
        record(429)
        const d = new Date()
        const reset = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)
        send(
          res,
          429,
          {
            error: {
              code: 429,
              message:
                "Rate limit exceeded: free-models-per-day. Add 10 credits to unlock 1000 free model requests per day",
              metadata: {}
            }
          },
          {
            "X-RateLimit-Limit": String(opts.freePerDay),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": String(reset)
          }
        )
        return
      }
    }
    const rpm = rpmFor(model)
    if (rpm !== undefined) {
      const times = (accepted.get(model) ?? []).filter((t) => at - t < windowMs)
      accepted.set(model, times)
      if (times.length >= rpm) {
        const resetAt = times[times.length - rpm]! + windowMs
        record(429)
        const stated = opts.unstatedLimit !== true
        send(
          res,
          429,
          {
            error: {
              code: 429,
              message: stated
                ? `Rate limit exceeded: limited to ${rpm} requests per minute`
                : "Rate limit exceeded"
            }
          },
          {
            "Retry-After": String(Math.ceil((resetAt - at) / 1000)),
            ...(stated
              ? {
                  "X-RateLimit-Limit": String(rpm),
                  "X-RateLimit-Remaining": "0",
                  "X-RateLimit-Reset": String(resetAt)
                }
              : {})
          }
        )
        return
      }
      times.push(at)
    }
    const routed = routedModel(m, body)
    if (routed === undefined) {
      record(404)
      send(res, 404, {
        error: {
          code: 404,
          message: "No endpoints found matching your max price. Raise max_price or remove it."
        }
      })
      return
    }
    if (opts.budgetAfter !== undefined && log.filter((a) => a.status === 200).length >= opts.budgetAfter) {
      record(403)
      send(res, 403, { error: { code: 403, message: "Workspace monthly budget of $500.00 exceeded" } })
      return
    }
    const fault = opts.fault?.(attempt, body)
    if (fault === "reset") {
      record("reset")
      req.socket.destroy()
      return
    }
    if (fault === "404") {
      record(404)
      send(res, 404, { error: { code: 404, message: `No endpoints found for ${String(body.model)}.` } })
      return
    }
    if (fault === "400") {
      record(400)
      send(res, 400, { error: { code: 400, message: "Invalid request: bad parameter" } })
      return
    }
    if (fault === "5xx") {
      record(502)
      send(res, 502, { error: { code: 502, message: "Provider returned error" } })
      return
    }
    const promptTokens = promptTokensOf(body)
    const maxTokens = Number(body.max_tokens ?? 256)
    const completionTokens = Math.min(maxTokens, opts.completionTokens?.(body) ?? 20)
    const cost = Cost.cost(routed, { promptTokens, completionTokens }, new Date()).total
    const layer = opts.budgetLayer
    const layerSpend = layer === undefined ? 0 : layer.spendUsd + Money.toNumber(Money.sub(billed, layerBase))
    if (layer !== undefined && layerSpend + Money.toNumber(cost) > layer.limitUsd) {
      record(403)
      send(res, 403, {
        error: {
          code: 403,
          message: `Budget limit exceeded for ${layer.scope}`,
          metadata: {
            limit_source: layer.limitSource,
            scope: layer.scope,
            limit_usd: layer.limitUsd,
            spend_usd: layerSpend,
            resets_at: layer.resetsAt
          }
        }
      })
      return
    }
    if (
      opts.balanceUsd !== undefined &&
      Money.gt(Money.add(billed, cost), Money.fromNumber(opts.balanceUsd))
    ) {
      record(402)
      send(res, 402, {
        error: { code: 402, message: "Insufficient credits. Add more using https://openrouter.ai/credits" }
      })
      return
    }
    const limit = mintedKey !== undefined ? mintedKey.limit : (opts.account?.keyLimit ?? null)
    const spentByKey = usageOf.get(authorization ?? "") ?? 0
    if (limit !== null && spentByKey + Money.toNumber(cost) > limit) {
      record(402)
      send(res, 402, {
        error: {
          code: 402,
          message: "Key limit exceeded. Manage it using https://openrouter.ai/settings/keys"
        }
      })
      return
    }
    usageOf.set(authorization ?? "", spentByKey + Money.toNumber(cost))
    if (mintedKey !== undefined) mintedKey.usage += Money.toNumber(cost)
    billed = Money.add(billed, cost)
    record(200, cost)
    const content = opts.reply?.(body, attempt) ?? replyContent(body, `sim reply ${attempt}`)
    const tierHeader =
      m.free && opts.freeTierHeader !== undefined ? { "X-RateLimit-Limit": String(opts.freeTierHeader) } : {}
    const shape = opts.replyShape?.(attempt)
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
      cost: Money.toNumber(cost)
    }
    const choice = {
      index: 0,
      message: { role: "assistant", content: shape === "null-content" ? null : content },
      finish_reason: shape === "length" ? "length" : shape === "filtered" ? "content_filter" : "stop"
    }
    const drift = opts.generation?.drift?.(attempt) ?? 0
    generations.set(`gen-${attempt}`, {
      answeredAt: Date.now(),
      totalCost:
        drift === 0 ? cost : Money.fromNumber(Number((Money.toNumber(cost) * (1 + drift)).toFixed(12))),
      nativePrompt: opts.generation?.nativePrompt?.(promptTokens) ?? promptTokens,
      completionTokens,
      model
    })
    send(
      res,
      200,
      {
        id: `gen-${attempt}`,
        model,
        ...(shape === "no-choices" ? {} : { choices: [choice] }),
        ...(shape === "no-usage" ? {} : { usage })
      },
      tierHeader
    )
  }

  /** `GET /generation?id=`, as OpenRouter answers it: 404 until the bill is recorded. */
  const generationRoute = (req: IncomingMessage, res: ServerResponse) => {
    const id = new URL(req.url ?? "", "http://sim").searchParams.get("id") ?? ""
    generationCalls.push(id)
    const status = opts.generation?.status
    if (status !== undefined) {
      send(res, status, { error: { code: status, message: "not allowed" } })
      return
    }
    if (opts.apiKey !== undefined && req.headers.authorization !== `Bearer ${opts.apiKey}`) {
      send(res, 401, { error: { code: 401, message: "No auth credentials found" } })
      return
    }
    const g = generations.get(id)
    if (g === undefined || Date.now() < g.answeredAt + (opts.generation?.lagMs ?? 0)) {
      send(res, 404, { error: { code: 404, message: `Generation ${id} not found` } })
      return
    }
    send(res, 200, {
      data: {
        id,
        model: g.model,
        total_cost: Money.toNumber(g.totalCost),
        tokens_prompt: g.nativePrompt,
        tokens_completion: g.completionTokens,
        native_tokens_prompt: g.nativePrompt,
        native_tokens_completion: g.completionTokens,
        usage: Money.toNumber(g.totalCost)
      }
    })
  }

  /** `GET /key`, `GET /credits`, `POST /keys`, `DELETE /keys/{hash}`, as OpenRouter answers them. */
  const accountRoute = async (req: IncomingMessage, res: ServerResponse) => {
    const authorization = req.headers.authorization ?? ""
    const account = opts.account ?? {}
    const management =
      account.managementKey !== undefined && authorization === `Bearer ${account.managementKey}`
    const url = req.url ?? ""
    if (req.method === "GET" && url.endsWith("/key")) {
      const m = minted.find((k) => authorization === `Bearer ${k.key}`)
      const limit = m !== undefined ? m.limit : (account.keyLimit ?? null)
      const usage = usageOf.get(authorization) ?? 0
      send(res, 200, {
        data: {
          label: m?.name ?? "sim",
          limit,
          limit_remaining: limit === null ? null : Math.max(0, limit - usage),
          usage,
          usage_daily: usage,
          is_free_tier: account.isFreeTier ?? false,
          expires_at: m?.expiresAt ?? null,
          // the account's counter for the UTC day, every key and client included (with freeUsedElsewhere)
          ...(opts.freeUsedElsewhere !== undefined
            ? {
                free_model_daily_requests: {
                  limit: opts.freePerDay ?? 50,
                  used: freeAttempts + opts.freeUsedElsewhere,
                  remaining: Math.max(0, (opts.freePerDay ?? 50) - freeAttempts - opts.freeUsedElsewhere)
                }
              }
            : {}),
          ...(opts.budgetLayer !== undefined
            ? {
                budgets: [
                  {
                    scope: opts.budgetLayer.scope,
                    limit_usd: opts.budgetLayer.limitUsd,
                    spend_usd: opts.budgetLayer.spendUsd + Money.toNumber(billed),
                    remaining_usd:
                      opts.budgetLayer.limitUsd - opts.budgetLayer.spendUsd - Money.toNumber(billed),
                    reset_interval: "daily",
                    resets_at: opts.budgetLayer.resetsAt
                  }
                ]
              }
            : {})
        }
      })
      return
    }
    if (!management) {
      send(res, 401, { error: { code: 401, message: "Only management keys can perform this operation" } })
      return
    }
    if (req.method === "GET" && url.endsWith("/credits")) {
      send(res, 200, {
        data: { total_credits: account.totalCredits ?? 0, total_usage: account.totalUsage ?? 0 }
      })
      return
    }
    if (req.method === "POST" && url.endsWith("/keys")) {
      const body = JSON.parse(await readBody(req)) as { name?: string; limit?: number; expires_at?: string }
      const hash = `hash${minted.length + 1}`
      const key: MintedKey = {
        hash,
        key: `sk-or-v1-minted-${minted.length + 1}${account.mint === "crlf-key" ? "\r\nX-Injected: 1" : ""}-${Math.random().toString(36).slice(2)}`,
        name: body.name ?? "",
        limit: account.mint === "ignores-limit" ? null : (body.limit ?? null),
        expiresAt: body.expires_at ?? null,
        usage: 0,
        deleted: false
      }
      minted.push(key)
      send(res, 200, {
        data: { hash, name: key.name, limit: key.limit, expires_at: key.expiresAt },
        key: key.key
      })
      return
    }
    const del = /\/keys\/([^/]+)$/.exec(url)
    if (req.method === "DELETE" && del !== null) {
      const k = minted.find((x) => x.hash === del[1])
      if (k === undefined) {
        send(res, 404, { error: { code: 404, message: "not found" } })
        return
      }
      k.deleted = true
      send(res, 200, { deleted: true })
      return
    }
    send(res, 404, { error: { code: 404, message: "not found" } })
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e) => send(res, 500, { error: { code: 500, message: String(e) } }))
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`
  return {
    url,
    log,
    billed: () => billed,
    successes: () => log.filter((a) => a.status === 200),
    rollDay: () => {
      freeAttempts = 0
    },
    rollBudget: () => {
      layerBase = billed
    },
    minted,
    accountCalls,
    generationCalls,
    settledBill: () => Money.sum([...generations.values()].map((g) => g.totalCost)),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      })
  }
}

/** The simulators a test file starts: `sim` starts one and keeps it, `closeAll` (after each test) closes them. */
export const simulatorPool = () => {
  let open: Simulator[] = []
  return {
    sim: async (opts: SimOptions = {}): Promise<Simulator> => {
      const s = await startSimulator(opts)
      open.push(s)
      return s
    },
    closeAll: async (): Promise<void> => {
      await Promise.all(open.map((s) => s.close()))
      open = []
    }
  }
}
