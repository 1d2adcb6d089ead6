/**
 * How one item of a step ended: answered, reused from an interrupted run, not renderable, or
 * failed; and, for a packed step, a pack whose reply did not split and was sent again smaller.
 */
import type { Completion, RequestFailed, RunStopped } from "@tollgate/core/Engine"
import { readUsage } from "@tollgate/core/Usage"
import * as Money from "@tollgate/pricing/Money"
import type { RequestRecord } from "./RequestRecord.ts"

/**
 * An item answered (or failed) in a pack: the request is the pack's, so its attempts and cost
 * count once, with the item at position 0.
 */
export interface PackShare {
  /** The pack request's cache key. */
  readonly key: string
  readonly size: number
  readonly position: number
}

/** Where an item of an overflow step went: free, or paid (and why, and the free attempts it took first). */
export interface Route {
  readonly to: "free" | "paid"
  readonly why?: string
  readonly freeAttempts?: number
}

export type ItemResult =
  | {
      readonly _tag: "done"
      readonly index: number
      readonly key: string
      readonly completion: Completion
      readonly output: unknown
      readonly pack?: PackShare | undefined
      /** A step that overflows: which model answered, why a paid one, and the free attempts before it. */
      readonly route?: Route | undefined
    }
  | { readonly _tag: "reused"; readonly index: number; readonly record: RequestRecord }
  | {
      readonly _tag: "invalid"
      readonly index: number
      readonly message: string
      /** A merge whose shards lack this item's answer: the shards' records, not the provider, are at fault. */
      readonly missingInShards?: true
    }
  | {
      readonly _tag: "failed"
      readonly index: number
      readonly key: string
      readonly error: RequestFailed | RunStopped
      readonly pack?: PackShare | undefined
    }
  /** A pack whose replies did not split into its items' answers: its items went again in smaller packs. */
  | {
      readonly _tag: "split"
      /** Its first item. */
      readonly index: number
      readonly key: string
      readonly size: number
      readonly error: RequestFailed
    }

const packOf = (p: PackShare | undefined) =>
  p === undefined ? {} : { pack: { key: p.key, size: p.size, position: p.position } }

/**
 * The provider's id of a fresh answer, which `/generation` settles it by, and that answer's own
 * figure when earlier billed attempts make the request's cost differ from it.
 */
const generationOf = (c: Completion) => {
  const id = c.cached ? undefined : c.reply.id
  if (id === undefined) return {}
  const answer = readUsage(c.reply).cost ?? c.catalogCost
  return answer !== undefined && !Money.eq(answer, c.cost)
    ? { generation_id: id, answer_cost_usd: Money.toPlain(answer) }
    : { generation_id: id }
}

/** The run record of one item's result; none for a request the stop kept from being sent. */
export const recordOf = (r: ItemResult): RequestRecord | undefined => {
  switch (r._tag) {
    case "done": {
      const c = r.completion
      const pack = packOf(r.pack)
      // a pack's cost and usage are recorded once, on its first item
      if (r.pack !== undefined && r.pack.position > 0)
        return { index: r.index, key: r.key, status: "ok", output: r.output, cached: c.cached, ...pack }
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
        ...(c.model !== undefined ? { model: c.model } : {}),
        ...generationOf(c),
        ...pack,
        ...(r.route === undefined ? {} : { route: r.route.to }),
        ...(r.route?.why === undefined ? {} : { overflow_reason: r.route.why })
      }
    }
    case "reused":
      return r.record
    case "invalid":
      return { index: r.index, key: "", status: "error", error: r.message }
    case "failed":
      if (r.error._tag === "RunStopped") return undefined
      if (r.pack !== undefined && r.pack.position > 0)
        return { index: r.index, key: r.key, status: "error", error: r.error.message, ...packOf(r.pack) }
      return {
        index: r.index,
        key: r.key,
        status: "error",
        error: r.error.message,
        attempts: r.error.attempts,
        cost_usd: r.error.costUsd,
        ...packOf(r.pack)
      }
    case "split":
      return {
        index: r.index,
        key: r.key,
        status: "split",
        error: `${r.error.message}; its ${r.size} items were sent again in smaller packs`,
        attempts: r.error.attempts,
        cost_usd: r.error.costUsd,
        pack: { key: r.key, size: r.size, position: 0 }
      }
  }
}
