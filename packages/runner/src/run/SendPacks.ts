/**
 * The items of a packed step (`pack: N`), up to N per request. Each item is rendered and checked
 * for an earlier answer first (resume and merge find items by their own request key); the rest go
 * as one pack. A pack whose reply does not split into its items' answers, after its retries, goes
 * again as two halves, down to single items sent as the unpacked step would send them. Every
 * attempt counts; each result is recorded as soon as it is known.
 */
import type { ChatReply } from "@tollgate/core/ChatReply"
import type { Completion } from "@tollgate/core/Engine"
import type { Checked } from "@tollgate/core/Job"
import { cacheKey } from "@tollgate/core/ResponseCache"
import * as Effect from "effect/Effect"
import { halves, packBody, packMessages } from "../dsl/PackRequest.ts"
import { sample } from "./CalibrationSample.ts"
import { jobOf, prepareItem, type Ready, recordResult, type StepJob, sendItem } from "./Item.ts"
import type { ItemResult } from "./ItemResult.ts"
import type { RunContext } from "./RunContext.ts"

/** The items of a pack, answered from one reply. */
const answered = (
  ready: ReadonlyArray<Ready>,
  key: string,
  completion: Completion,
  outputs: ReadonlyArray<unknown>
) =>
  ready.map(
    (r, position): ItemResult => ({
      _tag: "done",
      index: r.index,
      key: r.key,
      completion,
      output: outputs[position],
      pack: { key, size: ready.length, position }
    })
  )

/** Sends prepared items as one pack (or alone, when one is left); halves a pack whose reply does not split. */
const sendPack: (ctx: RunContext, sj: StepJob, ready: ReadonlyArray<Ready>) => Effect.Effect<ItemResult[]> =
  Effect.fn("Pack.sendPack")(function* (ctx: RunContext, sj: StepJob, ready: ReadonlyArray<Ready>) {
    if (ready.length === 0) return []
    const record = (rs: ItemResult[]) => {
      for (const r of rs) recordResult(ctx, sj.step, r)
      return rs
    }
    if (ready.length === 1) return record([yield* sendItem(ctx, sj, ready[0]!)])
    const step = sj.step
    const size = ready.length
    const messages = packMessages(
      step,
      ready.map((r) => r.messages)
    )
    const body = packBody(step, messages, size)
    const key = cacheKey(ctx.planned.baseUrl, body)
    const split = sj.split!
    // the engine's check splits the reply once: the answers are the completion's output
    const check = (reply: ChatReply): Checked => {
      const answers = split(reply, size)
      return typeof answers === "string"
        ? { _tag: "problem", problem: answers }
        : { _tag: "output", output: answers }
    }
    const result = yield* Effect.result(
      ctx.engine.execute(jobOf(ctx, sj, ready[0]!.index, messages, body, key, check, size))
    )
    const halve = (went: ItemResult[]) => {
      const [a, b] = halves(ready)
      return Effect.map(Effect.all([sendPack(ctx, sj, a), sendPack(ctx, sj, b)]), ([x, y]) => [
        ...went,
        ...x,
        ...y
      ])
    }
    if (result._tag === "Success") {
      sample(ctx, step, messages, result.success, size, Number(body.max_tokens))
      return record(answered(ready, key, result.success, result.success.output as ReadonlyArray<unknown>))
    }
    const error = result.failure
    if (error._tag === "RequestFailed" && error.invalidReply === true)
      return yield* halve(record([{ _tag: "split", index: ready[0]!.index, key, size, error }]))
    return record(
      ready.map(
        (r, position): ItemResult => ({
          _tag: "failed",
          index: r.index,
          key: r.key,
          error,
          pack: { key, size, position }
        })
      )
    )
  })

/** Items of one pack of a packed step (by index into `items`): each reused, refused, or sent in packs. */
export const runPack = Effect.fn("Pack.runPack")(function* (
  ctx: RunContext,
  sj: StepJob,
  items: ReadonlyArray<unknown>,
  indices: ReadonlyArray<number>
) {
  const settled: ItemResult[] = []
  const ready: Ready[] = []
  for (const index of indices) {
    const p = prepareItem(ctx, sj, items[index], index)
    if (p._tag === "ready") ready.push(p)
    else {
      recordResult(ctx, sj.step, p)
      settled.push(p)
    }
  }
  return [...settled, ...(yield* sendPack(ctx, sj, ready))]
})
