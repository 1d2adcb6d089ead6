/** How one request of a step ended: answered, reused from an interrupted run, not renderable, or failed. */
import type { Completion, RequestFailed, RunStopped } from "@tollgate/core/Engine"
import * as Money from "@tollgate/pricing/Money"
import type { RequestRecord } from "./Records.ts"

export type ItemResult =
  | {
      readonly _tag: "done"
      readonly index: number
      readonly key: string
      readonly completion: Completion
      readonly output: unknown
    }
  | { readonly _tag: "reused"; readonly index: number; readonly record: RequestRecord }
  | { readonly _tag: "invalid"; readonly index: number; readonly message: string }
  | {
      readonly _tag: "failed"
      readonly index: number
      readonly key: string
      readonly error: RequestFailed | RunStopped
    }

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
