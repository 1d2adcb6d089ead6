/**
 * A step that overflows, as it runs: each item goes free while today's share of the free plan
 * lasts, waits for a later day's quota when the deadline allows, or goes to the paid overflow
 * model; a free request that fails for good (the model gone, refusals past its attempts, the
 * provider's daily cap reached before the plan's) goes to the paid model at once, and once the
 * free model is gone every item does (once the cap is reached, nothing more goes free today). An item answered
 * under either model in an earlier run (or a shard) is reused, never sent again; a shard takes
 * its share of the free plan.
 */
import { RunStopped } from "@tollgate/core/Engine"
import * as Policy from "@tollgate/pricing/Policy"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import type { Step } from "../dsl/Pipeline.ts"
import { recordResult, renderItem, requestOf, type StepJob, sendItem, stepJob } from "./Item.ts"
import type { ItemResult } from "./ItemResult.ts"
import type { RunContext } from "./RunContext.ts"

type Where = "free" | "later" | "paid"

interface Left {
  readonly now: number
  readonly later: number
  readonly gone: boolean
}

export interface OverflowRoute {
  readonly free: StepJob
  readonly paid: StepJob
  /** Today's free share left, later days' share left, whether the free model is gone. */
  readonly left: Ref.Ref<Left>
  /** Items left for a later day's free quota. */
  readonly deferred: Ref.Ref<number>
  /** Request keys the plan found in the cache (free to answer again). */
  readonly cached: ReadonlySet<string>
}

/** The route of a step the plan overflows (a deadline, and `overflow:` on the step); undefined otherwise. */
export const overflowRoute = (ctx: RunContext, step: Step, sj: StepJob, share: number) =>
  Effect.gen(function* () {
    const planned = ctx.planned.projection.overflow?.steps.find((s) => s.id === step.id)
    if (planned === undefined || step.overflow === undefined) return undefined
    const today = Policy.utcDay(new Date(yield* Clock.currentTimeMillis))
    // a shard takes its share of the free plan: the quota is the account's, whatever the shards
    const portion = (n: number) => Math.floor(n * share)
    const now = portion(
      planned.placement.freeByDay.filter((d) => d.date === today).reduce((n, d) => n + d.requests, 0)
    )
    const later = Math.max(0, portion(planned.placement.free) - now)
    ctx.onEvent({
      type: "overflow-plan",
      step: step.id,
      free_now: now,
      free_later: later,
      paid: Math.ceil(planned.placement.paid * share),
      model: step.overflow
    })
    return {
      // the provider's daily cap sends the item to the paid model, not the run to a stop
      free: { ...sj, freeQuotaFails: true },
      paid: stepJob(ctx, { ...step, models: [step.overflow] }, sj.scope),
      left: yield* Ref.make<Left>({ now, later, gone: false }),
      deferred: yield* Ref.make(0),
      cached: new Set(ctx.planned.projection.steps.find((s) => s.id === step.id)?.cachedKeys ?? [])
    } satisfies OverflowRoute
  })

/** Where the next item goes: free while today's share lasts, then a later day's, then paid. */
const take = (route: OverflowRoute): Effect.Effect<Where> =>
  Ref.modify(route.left, (l: Left): readonly [Where, Left] =>
    l.gone
      ? ["paid", l]
      : l.now > 0
        ? ["free", { ...l, now: l.now - 1 }]
        : l.later > 0
          ? ["later", { ...l, later: l.later - 1 }]
          : ["paid", l]
  )

/** One item of an overflow step, recorded as soon as it finishes. */
export const runOverflowItem = (
  ctx: RunContext,
  route: OverflowRoute,
  item: unknown,
  index: number
): Effect.Effect<ItemResult> =>
  Effect.tap(routeItem(ctx, route, item, index), (r) =>
    Effect.sync(() => recordResult(ctx, route.free.step, r))
  )

const routeItem = Effect.fnUntraced(function* (
  ctx: RunContext,
  route: OverflowRoute,
  item: unknown,
  index: number
) {
  // rendered once (the models share the messages); an answer from either model, from an earlier
  // run or a shard, is reused before anything else
  const messages = renderItem(route.free, item, index)
  if ("_tag" in messages) return messages
  const free = requestOf(ctx, route.free, index, messages)
  if (free._tag === "reused") return free
  const paid = requestOf(ctx, route.paid, index, messages)
  if (paid._tag === "reused") return paid
  if (free._tag !== "ready") return free
  if (paid._tag !== "ready") return paid
  const where: Where = route.cached.has(free.key) ? "free" : yield* take(route)
  if (where === "later") {
    yield* Ref.update(route.deferred, (n) => n + 1)
    return {
      _tag: "failed",
      index,
      key: free.key,
      error: new RunStopped({ reason: "free-quota", message: "left for a later day's free quota" })
    } satisfies ItemResult
  }
  if (where === "paid")
    return withRoute(yield* sendItem(ctx, route.paid, paid), { to: "paid", why: "deadline" })
  const answered = yield* sendItem(ctx, route.free, free)
  if (answered._tag !== "failed" || answered.error._tag !== "RequestFailed")
    return withRoute(answered, { to: "free" })
  // the free model will not answer this one: the paid model does, now
  const e = answered.error
  if (e.status === 404) yield* Ref.update(route.left, (l) => ({ ...l, gone: true }))
  // the provider's daily cap came before the plan's: nothing more goes free today
  if (e.freeQuota === true) yield* Ref.update(route.left, (l) => ({ ...l, now: 0 }))
  const why = `the free model failed: ${e.status === undefined ? "" : `HTTP ${e.status}, `}${e.message}`
  ctx.onEvent({ type: "overflow", step: route.free.step.id, item: index, reason: why })
  return withRoute(yield* sendItem(ctx, route.paid, paid), { to: "paid", why, freeAttempts: e.attempts })
})

const withRoute = (
  r: ItemResult,
  route: NonNullable<Extract<ItemResult, { _tag: "done" }>["route"]>
): ItemResult => (r._tag === "done" ? { ...r, route } : r)

/** After the step: items left for a later day stop the run until the free quota's reset (`--until-done` waits for it). */
export const deferUntilReset = (ctx: RunContext, route: OverflowRoute) =>
  Effect.gen(function* () {
    const n = yield* Ref.get(route.deferred)
    if (n === 0) return
    const resetAtMs = Policy.nextUtcMidnight(new Date(yield* Clock.currentTimeMillis)).getTime()
    yield* ctx.engine.stop(
      new RunStopped({
        reason: "free-quota",
        message: `${n} item${n === 1 ? "" : "s"} of step "${route.free.step.id}" wait for the free quota's reset at ${Policy.isoInstant(new Date(resetAtMs))} (the deadline leaves time for them)`,
        resetAtMs
      })
    )
  })
