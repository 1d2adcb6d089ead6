/** One request of a step (one item of a `for_each`): render, reuse an earlier run's answer, or send. */
import type { Job } from "@tollgate/core/Engine"
import { cacheKey } from "@tollgate/core/ResponseCache"
import type * as Catalog from "@tollgate/pricing/Catalog"
import * as Effect from "effect/Effect"
import type { Message, Step } from "../dsl/Pipeline.ts"
import { buildBody } from "../dsl/Request.ts"
import { render } from "../dsl/Templates.ts"
import { worstRequestCost } from "../plan/Pricing.ts"
import { type ItemResult, recordOf } from "./ItemResult.ts"
import { outputOf, replyCheck } from "./Reply.ts"
import type { RunContext } from "./RunContext.ts"
import { label, shardOf } from "./Shards.ts"

/** What every request of a step shares. */
export interface StepJob {
  readonly step: Step
  readonly models: ReadonlyArray<Catalog.Model>
  readonly check: ((body: unknown) => string | undefined) | undefined
  readonly scope: Record<string, unknown>
}

export const stepJob = (ctx: RunContext, step: Step, scope: Record<string, unknown>): StepJob => ({
  step,
  models: step.models.map((id) => ctx.planned.catalog.resolveOrThrow(id).model),
  check: replyCheck(step),
  scope
})

const renderMessages = (step: Step, scope: Record<string, unknown>): Message[] | string => {
  try {
    return step.messages.map((m) => ({ role: m.role, content: render(m.content, scope) }))
  } catch (e) {
    return `template: ${(e as Error).message}`
  }
}

const jobOf = (
  ctx: RunContext,
  sj: StepJob,
  index: number,
  messages: ReadonlyArray<Message>,
  body: Record<string, unknown>,
  key: string
): Job => {
  const step = sj.step
  return {
    label: step.forEach !== undefined ? `${step.id}[${index}]` : step.id,
    request: { baseUrl: ctx.planned.baseUrl, body, timeoutMs: step.timeoutMs },
    models: sj.models,
    free: sj.models.every((m) => m.free),
    worstCost: worstRequestCost(sj.models, messages, step.maxTokens),
    maxAttempts: step.maxAttempts,
    useCache: step.cache && !ctx.noCache,
    cacheKey: key,
    check: sj.check,
    inflight: ctx.gate.withPermits(1)
  }
}

const sendItem = (ctx: RunContext, sj: StepJob, item: unknown, index: number): Effect.Effect<ItemResult> =>
  Effect.gen(function* () {
    const step = sj.step
    const scope = step.forEach !== undefined ? { ...sj.scope, [step.as]: item, index } : sj.scope
    const messages = renderMessages(step, scope)
    if (typeof messages === "string") return { _tag: "invalid", index, message: messages } as const
    const body = buildBody(step, messages)
    const key = cacheKey(ctx.planned.baseUrl, body)
    const previous = ctx.records.previous.get(key)
    if (previous !== undefined)
      return { _tag: "reused", index, record: { ...previous, index, reused: true } } as const
    // a merge never sends a split step's request: each came from its shard, or the merge fails
    if (ctx.split?.kind === "merge" && ctx.split.roles.get(step.id) === "split")
      return {
        _tag: "invalid",
        index,
        message: `has no answer in shard ${label(shardOf(index, ctx.split.count))}'s records (it failed there, or its request differs from the merge's: see the shard's run); nothing was sent`
      } as const
    const result = yield* Effect.result(ctx.engine.execute(jobOf(ctx, sj, index, messages, body, key)))
    if (result._tag === "Failure") return { _tag: "failed", index, key, error: result.failure } as const
    const completion = result.success
    return { _tag: "done", index, key, completion, output: outputOf(step, completion.body) } as const
  })

/** One item, recorded as soon as it finishes (not in item order), so a kill loses no paid answer. */
export const runItem = (
  ctx: RunContext,
  sj: StepJob,
  item: unknown,
  index: number
): Effect.Effect<ItemResult> =>
  Effect.tap(sendItem(ctx, sj, item, index), (r) =>
    Effect.sync(() => {
      const record = recordOf(r)
      if (record !== undefined) ctx.records.request(sj.step.id, record)
    })
  )
