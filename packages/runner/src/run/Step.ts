/**
 * One step of a run: decide `when`, list its items, stream them through the engine (bounded,
 * results in item order), record each as it is handed back, and keep its outputs for later steps.
 * A failure or stop never interrupts requests in flight: it stops new ones.
 */
import { RunStopped } from "@tollgate/core/Engine"
import * as Scheduler from "@tollgate/core/Scheduler"
import * as Money from "@tollgate/pricing/Money"
import { Effect } from "effect"
import type { Step } from "../dsl/Pipeline.ts"
import { evaluate, isTruthy } from "../dsl/Templates.ts"
import { runItem, stepJob } from "./Item.ts"
import type { ItemResult } from "./ItemResult.ts"
import type { RequestRecord } from "./Records.ts"
import type { RunContext } from "./RunContext.ts"
import { tally } from "./Tally.ts"

/** The run record of one item's result; none for a request the stop kept from being sent. */
export const recordOf = (r: ItemResult): RequestRecord | undefined => {
  switch (r._tag) {
    case "done": {
      const c = r.completion
      return {
        index: r.index,
        key: r.key,
        status: "ok",
        output: r.output,
        cost_usd: Money.toPlain(c.cost),
        cost_source: c.costSource,
        ...(c.catalogCost !== undefined ? { catalog_cost_usd: Money.toPlain(c.catalogCost) } : {}),
        cached: c.cached,
        attempts: c.attempts,
        usage: c.usage,
        ...(c.model !== undefined ? { model: c.model } : {})
      }
    }
    case "reused":
      return r.record
    case "invalid":
      return { index: r.index, key: "", status: "error", error: r.message }
    case "failed":
      if (r.error._tag === "RunStopped") return undefined
      return {
        index: r.index,
        key: r.key,
        status: "error",
        error: r.error.message,
        attempts: r.error.attempts,
        cost_usd: r.error.costUsd
      }
  }
}

const outputOfResult = (r: ItemResult): unknown =>
  r._tag === "done" ? r.output : r._tag === "reused" ? r.record.output : null

const failureOf = (step: Step, r: ItemResult): string | undefined => {
  if (r._tag === "invalid") return `step "${step.id}"[${r.index}]: ${r.message}`
  if (r._tag === "failed" && r.error._tag === "RequestFailed")
    return `step "${step.id}" failed: ${r.error.label}: ${r.error.message}`
  return undefined
}

/** Ends the run on a step's failure (unless it continues on error): no new requests. */
const failStep = (ctx: RunContext, step: Step, message: string) =>
  Effect.suspend(() => {
    if (step.continueOnError || ctx.failure !== undefined) return Effect.void
    ctx.failure = { kind: "step-failed", message }
    return ctx.engine.stop(new RunStopped({ reason: "failed", message }))
  })

/** The items of a step (one `undefined` for a plain step), or a message when `for_each` is not a list. */
const itemsOf = (step: Step, scope: Record<string, unknown>): unknown[] | string => {
  if (step.forEach === undefined) return [undefined]
  const v = evaluate(step.forEach, scope)
  if (!Array.isArray(v)) return `step "${step.id}": for_each "${step.forEach}" is not a list`
  return step.maxItems !== undefined ? v.slice(0, step.maxItems) : v
}

const skip = (ctx: RunContext, step: Step) =>
  Effect.sync(() => {
    ctx.actual.get(step.id)!.skipped = true
    ctx.stepOutputs[step.id] = step.forEach !== undefined ? { outputs: [] } : { output: null }
    ctx.onEvent({ type: "step-skipped", step: step.id })
  })

export const runStep = (ctx: RunContext, step: Step): Effect.Effect<void> =>
  Effect.gen(function* () {
    if (ctx.failure !== undefined || (yield* ctx.engine.stopped) !== undefined) return
    const scope: Record<string, unknown> = {
      inputs: ctx.planned.validated.inputs.values,
      steps: ctx.stepOutputs
    }
    if (step.when !== undefined && !isTruthy(evaluate(step.when, scope))) return yield* skip(ctx, step)
    const items = itemsOf(step, scope)
    if (typeof items === "string") {
      ctx.failure = { kind: "step-failed", message: items }
      return
    }
    ctx.onEvent({ type: "step-start", step: step.id, total: items.length })
    const a = ctx.actual.get(step.id)!
    // results stay in memory only when a later template reads them; they are on disk anyway
    const keep = ctx.referenced.has(step.id) || step.forEach === undefined
    const outputs: unknown[] = []
    const sj = stepJob(ctx, step, scope)
    const sink = (r: ItemResult) =>
      Effect.suspend(() => {
        const record = recordOf(r)
        if (record !== undefined) ctx.records.request(step.id, record)
        if (keep) outputs.push(outputOfResult(r))
        tally(a, r)
        const failure = failureOf(step, r)
        return failure === undefined ? Effect.void : failStep(ctx, step, failure)
      })
    yield* Scheduler.forEachOrdered(
      items,
      (item, index) => runItem(ctx, sj, item, index),
      sink,
      ctx.concurrency
    )
    ctx.stepOutputs[step.id] = !keep
      ? { records: `steps/${step.id}.jsonl` }
      : step.forEach !== undefined
        ? { outputs }
        : { output: outputs[0] ?? null }
    ctx.onEvent({ type: "step-end", step: step.id, completed: a.completed, failed: a.failed })
  })
