/** How one request of a step ended: answered, reused from an interrupted run, not renderable, or failed. */
import type { Completion, RequestFailed, RunStopped } from "@tollgate/core/Engine"
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
