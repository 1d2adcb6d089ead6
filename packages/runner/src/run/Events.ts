/** Everything a run reports as it goes: the engine's events and the run's own, one typed union. */
import type { EngineEvent } from "@tollgate/core/EngineEvent"

export type RunnerEvent =
  | {
      readonly type: "version"
      readonly format_version: 1
      readonly run: string
      readonly resumed: boolean
      readonly reusable: number
    }
  | {
      readonly type: "run-start"
      readonly pipeline: string
      readonly requests: number
      readonly max_cost_usd: number | null
      /** The least time the rate limits allow for the run (the plan's), for an ETA. */
      readonly min_duration_s?: number
    }
  | { readonly type: "run-end"; readonly status: string; readonly cost_usd: number }
  /** `total` items; a packed step sends them in `packs` requests. */
  | { readonly type: "step-start"; readonly step: string; readonly total: number; readonly packs?: number }
  | { readonly type: "step-end"; readonly step: string; readonly completed: number; readonly failed: number }
  | { readonly type: "step-skipped"; readonly step: string }
  /** A shard leaves a step that needs every item to the merge. */
  | { readonly type: "step-deferred"; readonly step: string }
  | { readonly type: "warning"; readonly message: string }
  /** `--until-done`: the day's free quota is used; the run goes on at `until` (epoch ms). */
  | {
      readonly type: "quota-wait"
      readonly until: number
      readonly at: number
      /** What resets then: the day's free quota (absent), or a provider budget layer. */
      readonly what?: "provider-budget"
    }
  | { readonly type: "cache-corrupt"; readonly count: number; readonly message: string }
  /** A step that overflows, at its start: free now, free on later days before the deadline, and paid. */
  | {
      readonly type: "overflow-plan"
      readonly step: string
      readonly free_now: number
      readonly free_later: number
      readonly paid: number
      readonly model: string
    }
  /** An item of an overflow step the free model did not answer: it goes to the paid model. */
  | { readonly type: "overflow"; readonly step: string; readonly item: number; readonly reason: string }
  | { readonly type: "output-error"; readonly output: string; readonly message: string }

export type RunEvent = EngineEvent | RunnerEvent

export type OnEvent = (e: RunEvent) => void
