/** `run`: plan, gate, execute, record, summarize. The library entry the CLI calls. */
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { Money } from "@tollgate/pricing"
import { Effect } from "effect"
import { execute, type RunOutcome } from "./Execute.ts"
import type { InputOverride } from "./Inputs.ts"
import { type PlanJson, type Planned, type PlanOptions, type PlanResult, planFile, planJson } from "./Plan.ts"
import { Records } from "./Records.ts"

/** Plan's options (a run plans first), plus how to execute. */
export interface RunOptions extends Omit<PlanOptions, "runsDir" | "now"> {
  readonly offline?: boolean
  readonly concurrency?: number | undefined
  /** Where run records go (default `.tollgate/runs`); also where plan finds earlier runs. */
  readonly outDir?: string | undefined
  readonly onEvent?: (e: Record<string, unknown>) => void
  readonly onStopHandle?: (stop: () => void) => void
}

export type RunResult =
  | { readonly kind: "invalid"; readonly plan: Extract<PlanResult, { ok: false }> }
  | { readonly kind: "refused"; readonly message: string }
  | { readonly kind: "store-unavailable"; readonly message: string }
  | { readonly kind: "gated"; readonly plan: PlanJson }
  | { readonly kind: "offline-miss"; readonly plan: PlanJson; readonly message: string }
  | {
      readonly kind: "ran"
      readonly summary: RunSummary
      readonly exitCode: number
      readonly recordsDir: string
    }

/** A saved plan (`runner plan --out`): what it was made from, to re-plan and compare. */
interface SavedPlan extends PlanJson {
  readonly saved_plan: { readonly pipeline_path: string; readonly inputs: ReadonlyArray<InputOverride> }
}

const identityOf = (p: Planned): string =>
  createHash("sha256")
    .update(JSON.stringify([p.hashes.pipeline, p.hashes.inputs, p.hashes.data, p.baseUrl]))
    .digest("hex")

export const exitCodeOf = (o: RunOutcome): number => {
  if (o.status === "completed") return 0
  if (o.status === "interrupted") return 130
  if (o.status === "failed") return 1
  return o.stopKind === "credits" || o.stopKind === "unauthorized" ? 1 : 3
}

export const summaryOf = (plan: PlanJson, o: RunOutcome, recordsDir: string) => {
  const steps = [...o.steps.entries()]
  const sum = (f: (a: RunOutcome["steps"] extends ReadonlyMap<string, infer A> ? A : never) => number) =>
    steps.reduce((n, [, a]) => n + f(a), 0)
  return {
    ...plan,
    status: o.status,
    ...(o.reason !== undefined ? { reason: o.reason, stop: o.stopKind } : {}),
    run: { id: recordsDir.split(/[\\/]/).pop(), dir: recordsDir },
    finished_at: new Date().toISOString(),
    actual: {
      requests: sum((a) => a.requests),
      cached: sum((a) => a.cached),
      reused: sum((a) => a.reused),
      retries: sum((a) => a.retries),
      rate_limited: sum((a) => a.rateLimited),
      failed: sum((a) => a.failed),
      cost_usd: Money.toNumber(o.cost),
      cost_usd_exact: Money.toPlain(o.cost),
      duration_s: Math.round(o.durationMs) / 1000
    },
    cache: o.cacheStats,
    steps: plan.steps.map((s) => {
      const a = o.steps.get(s.id)!
      const fresh = a.completed - a.cached - a.reused
      return {
        ...s,
        actual: {
          requests: a.requests,
          completed: a.completed,
          cached: a.cached,
          reused: a.reused,
          failed: a.failed,
          retries: a.retries,
          rate_limited: a.rateLimited,
          skipped: a.skipped,
          cost_usd: Money.toNumber(a.cost),
          completion_tokens_mean: fresh > 0 ? a.completionTokens / fresh : null
        }
      }
    }),
    outputs: o.outputs
  }
}
export type RunSummary = ReturnType<typeof summaryOf>

/** Plans `file` (a pipeline, or a saved plan.json), gates, runs. Sends nothing unless the gates pass. */
export const runFile = (file: string, opts: RunOptions): Effect.Effect<RunResult> =>
  Effect.gen(function* () {
    let pipelineFile = file
    let inputs = opts.inputs ?? []
    let saved: SavedPlan | undefined
    if (file.endsWith(".json")) {
      saved = JSON.parse(readFileSync(resolve(opts.cwd, file), "utf8")) as SavedPlan
      if (saved.saved_plan === undefined)
        return {
          kind: "refused",
          message: `${file} is not a saved plan (make one with \`runner plan --out\`)`
        }
      pipelineFile = saved.saved_plan.pipeline_path
      inputs = saved.saved_plan.inputs
    }
    const planned0 = yield* Effect.result(
      planFile(pipelineFile, {
        cwd: opts.cwd,
        env: opts.env,
        catalog: opts.catalog,
        inputs,
        baseUrl: opts.baseUrl,
        maxCostUsd: opts.maxCostUsd,
        noCache: opts.noCache === true,
        runsDir: opts.outDir,
        store: opts.store
      })
    )
    if (planned0._tag === "Failure") return { kind: "store-unavailable", message: planned0.failure.message }
    const result = planned0.success
    if (!result.ok) return { kind: "invalid", plan: result }
    const planned = result.planned
    const plan = planJson(planned)
    if (saved !== undefined) {
      const changed: string[] = []
      if (saved.hashes.pipeline !== plan.hashes.pipeline) changed.push("the pipeline")
      if (saved.hashes.inputs !== plan.hashes.inputs) changed.push("the inputs")
      if (JSON.stringify(saved.hashes.data) !== JSON.stringify(plan.hashes.data))
        changed.push("the data files")
      if (saved.hashes.prices !== plan.hashes.prices) changed.push("the prices")
      if (changed.length > 0)
        return {
          kind: "refused",
          message: `the saved plan ${file} is stale: ${changed.join(", ")} changed since it was made; run \`runner plan --out\` again`
        }
    }
    if (!plan.ok) return { kind: "gated", plan }
    const keyEnv = planned.validated.pipeline.apiKeyEnv
    if (!opts.offline && /^https:\/\/openrouter\.ai\//.test(planned.baseUrl) && !opts.env[keyEnv])
      return {
        kind: "refused",
        message: `${keyEnv} is not set: OpenRouter needs an API key (export ${keyEnv}=…), or run with --echo to try the pipeline locally; nothing was sent`
      }
    if (opts.offline && plan.requests.max > 0)
      return {
        kind: "offline-miss",
        plan,
        message: `--offline: ${plan.requests.max} request${plan.requests.max === 1 ? " is" : "s are"} not in the cache; nothing was sent`
      }
    if (planned.validated.pipeline.budget.shared !== undefined && opts.store === undefined)
      opts.onEvent?.({
        type: "warning",
        message: `budget.shared ("${planned.validated.pipeline.budget.shared}") is ignored without --store (Redis): this run keeps its own budget`
      })
    const outDir = resolve(opts.cwd, opts.outDir ?? join(".tollgate", "runs"))
    const records = Records.open(outDir, identityOf(planned), planned.validated.pipeline.name, new Date())
    records.writePlan(plan)
    records.event({
      type: "version",
      format_version: 1,
      run: records.id,
      resumed: records.resumed,
      reusable: records.previous.size
    })
    const onEvent = (e: Record<string, unknown>) => {
      records.event(e)
      opts.onEvent?.(e)
    }
    onEvent({
      type: "run-start",
      pipeline: plan.pipeline.name,
      requests: plan.requests.max,
      max_cost_usd: plan.budget.max_cost_usd
    })
    const outcome = yield* execute({
      planned,
      records,
      env: opts.env,
      noCache: opts.noCache === true,
      offline: opts.offline === true,
      store: opts.store,
      concurrency: opts.concurrency,
      maxCostUsd: opts.maxCostUsd,
      onEvent,
      ...(opts.onStopHandle ? { onStopHandle: opts.onStopHandle } : {})
    })
    const summary = summaryOf(plan, outcome, records.dir)
    records.writeOutputs({ outputs: outcome.outputs, steps: outcome.stepOutputs })
    records.writeSummary(summary)
    onEvent({ type: "run-end", status: outcome.status, cost_usd: summary.actual.cost_usd })
    return { kind: "ran", summary, exitCode: exitCodeOf(outcome), recordsDir: records.dir }
  })
