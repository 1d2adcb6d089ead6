/**
 * One step of a run: decide `when`, list its items, stream them through the engine (bounded; each
 * recorded as it finishes; a packed step's in packs), and keep its outputs, in item order, for later steps.
 * A failure or stop never interrupts requests in flight: it stops new ones.
 */
import { RunStopped } from "@tollgate/core/Engine"
import * as Scheduler from "@tollgate/core/Scheduler"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import type { Step } from "../dsl/Pipeline.ts"
import { evaluate, isTruthy } from "../dsl/Templates.ts"
import { runItem, stepJob } from "./Item.ts"
import type { ItemResult } from "./ItemResult.ts"
import { deferUntilReset, overflowRoute, runOverflowItem } from "./OverflowStep.ts"
import type { RunContext, StepOutputs } from "./RunContext.ts"
import { runPack } from "./SendPacks.ts"
import { itemIndices } from "./Shards.ts"
import { type StepActual, tally } from "./Tally.ts"

/** A packed step's items in packs of `size`, in item order. */
const packsOf = (indices: ReadonlyArray<number>, size: number): number[][] =>
  Array.from({ length: Math.ceil(indices.length / size) }, (_, i) => indices.slice(i * size, (i + 1) * size))

const outputOfResult = (r: ItemResult): unknown =>
  r._tag === "done" ? r.output : r._tag === "reused" ? r.record.output : null

interface StepFailure {
  /** `merge-incomplete`: a shard's records lack an answer (exit 2); else `step-failed`. */
  readonly kind: "step-failed" | "merge-incomplete"
  readonly message: string
}

const failureOf = (step: Step, r: ItemResult): StepFailure | undefined => {
  if (r._tag === "invalid")
    return {
      kind: r.missingInShards === true ? "merge-incomplete" : "step-failed",
      message: `step "${step.id}"[${r.index}]: ${r.message}`
    }
  if (r._tag === "failed" && r.error._tag === "RequestFailed")
    return { kind: "step-failed", message: `step "${step.id}" failed: ${r.error.label}: ${r.error.message}` }
  return undefined
}

/** Ends the run on a step's failure (unless it continues on error; a merge missing an answer never does): no new requests. */
const failStep = (ctx: RunContext, step: Step, failure: StepFailure | string) => {
  const f = typeof failure === "string" ? { kind: "step-failed", message: failure } : failure
  if (step.continueOnError && f.kind !== "merge-incomplete") return Effect.void
  // the first failure ends the run; later ones change nothing
  return Effect.flatMap(
    Ref.modify(ctx.failure, (was) => [was === undefined, was ?? f] as const),
    (first) =>
      first ? ctx.engine.stop(new RunStopped({ reason: "failed", message: f.message })) : Effect.void
  )
}

/** A step's tally with one more result. */
const count = (ctx: RunContext, id: string, f: (a: StepActual) => StepActual) =>
  Ref.update(ctx.actual, (m) => new Map(m).set(id, f(m.get(id)!)))

/** A step's results, as later templates read them. */
const keepOutputs = (ctx: RunContext, id: string, o: StepOutputs[string]) =>
  Ref.update(ctx.stepOutputs, (all) => ({ ...all, [id]: o }))

/** The items of a step (one `undefined` for a plain step), or a message when `for_each` is not a list. */
const itemsOf = (step: Step, scope: Record<string, unknown>): unknown[] | string => {
  if (step.forEach === undefined) return [undefined]
  const v = evaluate(step.forEach, scope)
  if (!Array.isArray(v)) return `step "${step.id}": for_each "${step.forEach}" is not a list`
  return step.maxItems !== undefined ? v.slice(0, step.maxItems) : v
}

/** A step that does not run: its `when` is false, or (in a shard) it waits for the merge. */
const skip = (ctx: RunContext, step: Step, type: "step-skipped" | "step-deferred") =>
  Effect.all([
    count(ctx, step.id, (a) => ({ ...a, skipped: true })),
    keepOutputs(ctx, step.id, step.forEach !== undefined ? { outputs: [] } : { output: null }),
    Effect.sync(() => ctx.onEvent({ type, step: step.id }))
  ])

export const runStep = Effect.fn("Step.runStep")(function* (ctx: RunContext, step: Step) {
  if ((yield* Ref.get(ctx.failure)) !== undefined || (yield* ctx.engine.stopped) !== undefined) return
  if (ctx.split?.kind === "shard" && ctx.split.roles.get(step.id) === "after-merge")
    return yield* skip(ctx, step, "step-deferred")
  const scope: Record<string, unknown> = {
    inputs: ctx.planned.validated.inputs.values,
    steps: yield* Ref.get(ctx.stepOutputs)
  }
  if (step.when !== undefined && !isTruthy(evaluate(step.when, scope)))
    return yield* skip(ctx, step, "step-skipped")
  const items = itemsOf(step, scope)
  if (typeof items === "string") {
    // a step failure like any other: continue_on_error goes on with no outputs; else the run stops
    yield* keepOutputs(ctx, step.id, { outputs: [] })
    return yield* failStep(ctx, step, items)
  }
  // a shard sends its share of a split step's items; each keeps its index in the whole list
  const indices = itemIndices(ctx.split, step.id, items.length)
  const packs = step.pack > 1 && step.forEach !== undefined ? packsOf(indices, step.pack) : undefined
  ctx.onEvent({
    type: "step-start",
    step: step.id,
    total: indices.length,
    ...(packs !== undefined ? { packs: packs.length } : {})
  })
  // results stay in memory only when a later template reads them; they are on disk anyway
  const keep = ctx.referenced.has(step.id) || step.forEach === undefined
  const outputs: unknown[] = []
  const sj = stepJob(ctx, step, scope)
  // results arrive as they finish; outputs keep item order by index
  const sink = (r: ItemResult) =>
    Effect.suspend(() => {
      // this step's own outputs, filled in as results arrive; kept for later steps when it ends
      if (keep && r._tag !== "split") outputs[r.index] = outputOfResult(r)
      const failure = failureOf(step, r)
      return Effect.andThen(
        count(ctx, step.id, (a) => tally(a, r)),
        failure === undefined ? Effect.void : failStep(ctx, step, failure)
      )
    })
  if (packs !== undefined)
    yield* Scheduler.forEachBounded(
      packs,
      (pack) => runPack(ctx, sj, items, pack),
      (rs) => Effect.forEach(rs, sink, { discard: true }),
      ctx.concurrency
    )
  else {
    const route = yield* overflowRoute(ctx, step, sj, items.length === 0 ? 1 : indices.length / items.length)
    yield* Scheduler.forEachBounded(
      indices,
      (index) =>
        route === undefined
          ? runItem(ctx, sj, items[index], index)
          : runOverflowItem(ctx, route, items[index], index),
      sink,
      ctx.concurrency
    )
    if (route !== undefined) yield* deferUntilReset(ctx, route)
  }
  yield* keepOutputs(
    ctx,
    step.id,
    !keep
      ? { records: `steps/${step.id}.jsonl` }
      : step.forEach !== undefined
        ? { outputs }
        : { output: outputs[0] ?? null }
  )
  const a = (yield* Ref.get(ctx.actual)).get(step.id)!
  ctx.onEvent({ type: "step-end", step: step.id, completed: a.completed, failed: a.failed })
})
