/** One item of a step (of a `for_each`, or the step's one request): render, reuse an earlier run's answer, or send. */
import type { ChatReply } from "@tollgate/core/ChatReply"
import type { Job } from "@tollgate/core/Engine"
import type { Checked } from "@tollgate/core/Job"
import { cacheKeyWith } from "@tollgate/core/ResponseCache"
import type * as Catalog from "@tollgate/pricing/Catalog"
import type * as Money from "@tollgate/pricing/Money"
import * as Effect from "effect/Effect"
import type { Message, Step } from "../dsl/Pipeline.ts"
import { buildBody } from "../dsl/Request.ts"
import { renderFast } from "../dsl/Templates.ts"
import { worstRequestCostMemo } from "../plan/StepPricing.ts"
import { sample } from "./CalibrationSample.ts"
import { type ItemResult, recordOf } from "./ItemResult.ts"
import { type MaxPrice, maxPriceMemo, providerField } from "./PriceCap.ts"
import { packCheck, replyCheck } from "./Reply.ts"
import type { RunContext } from "./RunContext.ts"
import { label, shardOf } from "./Shards.ts"

/** What every request of a step shares. */
export interface StepJob {
  readonly step: Step
  readonly models: ReadonlyArray<Catalog.Model>
  /** A reply's check, and the step's output from it. */
  readonly check: (reply: ChatReply) => Checked
  /** A packed step's reply, split into its items' outputs (or why it does not split). */
  readonly split: ((reply: ChatReply, size: number) => ReadonlyArray<unknown> | string) | undefined
  readonly scope: Record<string, unknown>
  /** The provider's daily free cap fails a request rather than stopping the run (an overflow step's free route). */
  readonly freeQuotaFails?: boolean
  /** The price cap (`max_price`) for a prompt of so many tokens at most. */
  readonly maxPrice: (promptTokens: number) => MaxPrice | undefined
  /** A request's cache key from its messages (the rest of its body is the step's). */
  readonly keyOf: (messages: unknown) => string
  /** The most one of its requests can cost (`worstRequestCostMemo`). */
  readonly worstCost: (messages: ReadonlyArray<Message>, maxTokens: number) => Money.Usd
}

export const stepJob = (ctx: RunContext, step: Step, scope: Record<string, unknown>): StepJob => {
  const models = step.models.map((id) => ctx.planned.catalog.resolveOrThrow(id).model)
  return {
    step,
    models,
    check: replyCheck(step),
    split: step.forEach !== undefined && step.pack > 1 ? packCheck(step) : undefined,
    scope,
    maxPrice: maxPriceMemo(models),
    keyOf: cacheKeyWith(ctx.planned.baseUrl, buildBody(step, []), "messages"),
    worstCost: worstRequestCostMemo(models)
  }
}

const renderMessages = (step: Step, scope: Record<string, unknown>): Message[] | string => {
  try {
    return step.messages.map((m) => ({ role: m.role, content: renderFast(m.content, scope) }))
  } catch (e) {
    return `template: ${(e as Error).message}`
  }
}

/**
 * The body as sent: to OpenRouter, with the pipeline's provider preferences and `max_price` at the
 * plan's prices (added here, not in the cache key's body: the same request is the same answer).
 */
const sendBody = (
  ctx: RunContext,
  sj: StepJob,
  messages: ReadonlyArray<Message>,
  body: Record<string, unknown>
): Record<string, unknown> => {
  const pipeline = ctx.planned.validated.pipeline
  if (pipeline.providerKind !== "openrouter") return body
  const promptBound = messages.reduce((n, m) => n + Buffer.byteLength(m.content, "utf8") + 16, 0)
  const provider = providerField(pipeline.routing, sj.maxPrice(promptBound))
  return provider === undefined ? body : { ...body, provider }
}

/** The engine's job for one request of a step: an item's (`index`), or a pack's (`index` and `pack`, with its `check`). */
export const jobOf = (
  ctx: RunContext,
  sj: StepJob,
  index: number,
  messages: ReadonlyArray<Message>,
  body: Record<string, unknown>,
  key: string,
  check = sj.check,
  pack?: number
): Job => {
  const step = sj.step
  return {
    ref:
      step.forEach === undefined
        ? { step: step.id }
        : pack === undefined || pack < 2
          ? { step: step.id, item: index }
          : { step: step.id, item: index, pack },
    request: {
      baseUrl: ctx.planned.baseUrl,
      body: sendBody(ctx, sj, messages, body),
      timeoutMs: step.timeoutMs
    },
    models: sj.models,
    free: sj.models.every((m) => m.free),
    worstCost: sj.worstCost(messages, Number(body.max_tokens)),
    maxAttempts: step.maxAttempts,
    useCache: step.cache && !ctx.noCache,
    cacheKey: key,
    check,
    inflight: ctx.gate.withPermits(1),
    ...(sj.freeQuotaFails === true ? { freeQuotaFails: true } : {})
  }
}

/** An item ready to send: its rendered messages, its request's body and cache key. */
export interface Ready {
  readonly _tag: "ready"
  readonly index: number
  readonly messages: ReadonlyArray<Message>
  readonly body: Record<string, unknown>
  readonly key: string
}

/** An item's messages rendered, or why its template failed (it ends there, unsent). */
export const renderItem = (
  sj: StepJob,
  item: unknown,
  index: number
): ReadonlyArray<Message> | Extract<ItemResult, { _tag: "invalid" }> => {
  const step = sj.step
  const scope = step.forEach !== undefined ? { ...sj.scope, [step.as]: item, index } : sj.scope
  const messages = renderMessages(step, scope)
  return typeof messages === "string" ? { _tag: "invalid", index, message: messages } : messages
}

/**
 * Renders an item. It ends here, unsent, when its template fails, when an earlier attempt at the
 * run answered it (its request key names it, packed or not), or when a merge has no shard's answer.
 */
export const prepareItem = (
  ctx: RunContext,
  sj: StepJob,
  item: unknown,
  index: number
): Ready | ItemResult => {
  const messages = renderItem(sj, item, index)
  return "_tag" in messages ? messages : requestOf(ctx, sj, index, messages)
}

/** An item's request from its rendered messages, unless an earlier attempt or a shard answered it. */
export const requestOf = (
  ctx: RunContext,
  sj: StepJob,
  index: number,
  messages: ReadonlyArray<Message>
): Ready | ItemResult => {
  const step = sj.step
  const body = buildBody(step, messages)
  const key = sj.keyOf(body.messages)
  const previous = ctx.records.previous.get(key)
  if (previous !== undefined) return { _tag: "reused", index, record: { ...previous, index, reused: true } }
  // a merge never sends a split step's request: each came from its shard, or the merge fails
  if (ctx.split?.kind === "merge" && ctx.split.roles.get(step.id) === "split")
    return {
      _tag: "invalid",
      index,
      missingInShards: true,
      message: `has no answer in shard ${label(shardOf(index, ctx.split.count))}'s records (it failed there, or its request differs from the merge's: see the shard's run); nothing was sent`
    }
  return { _tag: "ready", index, messages, body, key }
}

/**
 * Sends one prepared item as its own request; in a span of its own when the run traces requests
 * (`TOLLGATE_DEBUG`). Added by name, not by `Effect.fn`, which also captures a call-site stack
 * for every call.
 */
export const sendItem = (ctx: RunContext, sj: StepJob, r: Ready): Effect.Effect<ItemResult> =>
  ctx.requestSpans ? Effect.withSpan(sendReady(ctx, sj, r), "Item.sendItem") : sendReady(ctx, sj, r)

const sendReady = (ctx: RunContext, sj: StepJob, r: Ready): Effect.Effect<ItemResult> => {
  const { index, key } = r
  return Effect.match(ctx.engine.execute(jobOf(ctx, sj, index, r.messages, r.body, key)), {
    onFailure: (error): ItemResult => ({ _tag: "failed", index, key, error }),
    onSuccess: (completion): ItemResult => {
      sample(ctx, sj.step, r.messages, completion, 1, Number(r.body.max_tokens))
      return { _tag: "done", index, key, completion, output: completion.output }
    }
  })
}

/** Writes an item's result to the step's records as soon as it is known, so a kill loses no paid answer. */
export const recordResult = (ctx: RunContext, step: Step, r: ItemResult): void => {
  const record = recordOf(r)
  if (record !== undefined) ctx.records.request(step.id, record)
}

/** One item, recorded as soon as it finishes (not in item order). */
export const runItem = (
  ctx: RunContext,
  sj: StepJob,
  item: unknown,
  index: number
): Effect.Effect<ItemResult> => {
  const prepared = prepareItem(ctx, sj, item, index)
  const result = prepared._tag === "ready" ? sendItem(ctx, sj, prepared) : Effect.succeed(prepared)
  return Effect.map(result, (r) => {
    recordResult(ctx, sj.step, r)
    return r
  })
}
