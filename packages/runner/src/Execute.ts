/**
 * Executes a planned pipeline through `@tollgate/core`: steps as a DAG, each step's items
 * streamed in order under the run-wide concurrency bound, every finished request recorded as it
 * finishes. A failure or stop never interrupts requests in flight (they are paid for): it stops
 * new ones, lets the others settle, and the run ends with what it has.
 */
import { join } from "node:path"
import { Budget, Engine, Limits, Provider, QuotaLedger, ResponseCache, Scheduler } from "@tollgate/core"
import { type Catalog, Money, Policy, StateDir } from "@tollgate/pricing"
import { Ajv } from "ajv"
import { Effect, Layer, Semaphore } from "effect"
import * as EchoProvider from "./EchoProvider.ts"
import * as HttpProvider from "./HttpProvider.ts"
import type { Message, Pipeline, Step } from "./Pipeline.ts"
import type { Planned } from "./Plan.ts"
import { worstRequestCost } from "./Project.ts"
import type { Records, RequestRecord } from "./Records.ts"
import { buildBody } from "./Requests.ts"
import { dependencies } from "./SchedulerOrder.ts"
import { runLayers, storeUnavailable } from "./Stores.ts"
import { evaluate, isTruthy, references, render } from "./Templates.ts"

export type RunStatus = "completed" | "failed" | "stopped" | "interrupted"

export interface StepActual {
  requests: number
  cached: number
  reused: number
  retries: number
  rateLimited: number
  failed: number
  skipped: boolean
  cost: Money.Usd
  completionTokens: number
  completed: number
}

export interface RunOutcome {
  readonly status: RunStatus
  /** Why the run stopped or failed, for the user. */
  readonly reason: string | undefined
  /** `credits`, `daily-free-quota`, `budget`, `free-quota`, `unauthorized`, `interrupted`, `step-failed`. */
  readonly stopKind: string | undefined
  readonly steps: ReadonlyMap<string, StepActual>
  readonly outputs: Record<string, unknown>
  readonly stepOutputs: Record<string, unknown>
  readonly durationMs: number
  readonly cost: Money.Usd
  readonly cacheStats: ResponseCache.CacheStats
}

export interface ExecuteOptions {
  readonly planned: Planned
  readonly records: Records
  readonly env: NodeJS.ProcessEnv
  readonly noCache: boolean
  readonly offline: boolean
  readonly concurrency: number | undefined
  /** `redis://…` to share limits, ledger and cache; default: the state dir. */
  readonly store?: string | undefined
  readonly maxCostUsd: number | undefined
  readonly onEvent: (e: Record<string, unknown>) => void
  /** Receives a function that stops the run (SIGINT): no new requests, in-flight ones settle. */
  readonly onStopHandle?: (stop: () => void) => void
}

/** The reply text of a chat completion. */
export const contentOf = (body: unknown): string => {
  const content = (body as { choices?: Array<{ message?: { content?: unknown } }> } | null)?.choices?.[0]
    ?.message?.content
  if (typeof content === "string") return content
  if (Array.isArray(content))
    return content.map((c) => (typeof c === "object" && c && "text" in c ? String(c.text) : "")).join("")
  return ""
}

/** Strips a ```json fence a model may wrap JSON in. */
const unfence = (text: string) => text.trim().replace(/^```(?:json)?\s*\n([\s\S]*?)\n?```$/, "$1")

const offlineProvider = Layer.succeed(Provider.Provider, {
  send: () =>
    Effect.succeed({
      _tag: "Response" as const,
      status: 400,
      headers: {},
      body: {
        error: { code: 400, message: "--offline: this request is not in the cache, and nothing is sent" }
      }
    })
})

export const execute = (opts: ExecuteOptions): Effect.Effect<RunOutcome> =>
  Effect.gen(function* () {
    const { planned, records } = opts
    const pipeline = planned.validated.pipeline
    const catalog = planned.catalog
    const state = StateDir.stateDir(opts.env)
    const started = Date.now()
    const actual = new Map<string, StepActual>()
    for (const s of pipeline.steps)
      actual.set(s.id, {
        requests: 0,
        cached: 0,
        reused: 0,
        retries: 0,
        rateLimited: 0,
        failed: 0,
        skipped: false,
        cost: Money.zero,
        completionTokens: 0,
        completed: 0
      })
    const stepOutputs: Record<string, { output?: unknown; outputs?: unknown[]; records?: string }> = {}
    const referenced = referencedSteps(pipeline)
    let failure: { kind: string; message: string } | undefined

    const apiKey = opts.env[pipeline.apiKeyEnv]
    const provider = opts.offline
      ? offlineProvider
      : EchoProvider.isEcho(planned.baseUrl)
        ? EchoProvider.layer
        : HttpProvider.layer({
            apiKey,
            headers: pipeline.headers,
            connections: Math.max(8, opts.concurrency ?? pipeline.concurrency)
          })
    const maxCost =
      opts.maxCostUsd !== undefined
        ? Math.min(opts.maxCostUsd, pipeline.budget.maxCostUsd ?? Number.POSITIVE_INFINITY)
        : pipeline.budget.maxCostUsd
    const cacheOptions = { ttlMs: pipeline.cacheTtlMs, ...cacheCaps(opts.env) }
    const budgetLimits: Budget.BudgetLimits = {
      maxCostUsd: maxCost !== undefined ? Money.fromNumber(maxCost) : undefined,
      maxRequests: pipeline.budget.maxRequests,
      maxFreeRequests: pipeline.budget.maxFreeRequests
    }
    // the local echo provider is not an account: no pacing, no quota
    const echo = EchoProvider.isEcho(planned.baseUrl) || opts.offline
    const policy = echo
      ? Policy.make({ free: { rpm: 1e9, perDayLow: 1e9, perDayHigh: 1e9 } })
      : planned.policy
    const layer = Engine.Engine.layer({
      fingerprint: planned.fingerprint,
      policy,
      creditsPurchasedUsd: pipeline.creditsPurchasedUsd,
      onEvent: (e) => opts.onEvent({ ...e })
    }).pipe(
      Layer.provideMerge(
        Layer.mergeAll(
          provider,
          echo
            ? Layer.mergeAll(
                Budget.Budget.layer(budgetLimits),
                Limits.Limits.layer(policy, undefined),
                QuotaLedger.QuotaLedger.layerMemory,
                opts.noCache
                  ? ResponseCache.ResponseCache.layerDisabled
                  : ResponseCache.ResponseCache.layerFile(join(state, "cache"), cacheOptions)
              )
            : runLayers(
                { url: opts.store, stateDir: state },
                {
                  policy,
                  balanceUsd: pipeline.balanceUsd,
                  cache: opts.noCache ? false : cacheOptions,
                  budget: budgetLimits,
                  sharedPool: pipeline.budget.shared
                }
              )
        )
      )
    )

    const program = Effect.gen(function* () {
      const engine = yield* Engine.Engine
      const gate = yield* Semaphore.make(Math.max(1, opts.concurrency ?? pipeline.concurrency))
      opts.onStopHandle?.(() => {
        Effect.runSync(
          engine.stop(
            new Engine.RunStopped({
              reason: "interrupted",
              message: "interrupted: no new requests; those in flight settled"
            })
          )
        )
      })
      const ajv = new Ajv({ strict: false, allErrors: true })

      const runStep = (step: Step) =>
        Effect.gen(function* () {
          const a = actual.get(step.id)!
          if (failure !== undefined || (yield* engine.stopped) !== undefined) return
          const scope: Record<string, unknown> = {
            inputs: planned.validated.inputs.values,
            steps: stepOutputs
          }
          if (step.when !== undefined && !isTruthy(evaluate(step.when, scope))) {
            a.skipped = true
            stepOutputs[step.id] = step.forEach !== undefined ? { outputs: [] } : { output: null }
            opts.onEvent({ type: "step-skipped", step: step.id })
            return
          }
          let items: unknown[] = [undefined]
          if (step.forEach !== undefined) {
            const v = evaluate(step.forEach, scope)
            if (!Array.isArray(v)) {
              failure = {
                kind: "step-failed",
                message: `step "${step.id}": for_each "${step.forEach}" is not a list`
              }
              return
            }
            items = step.maxItems !== undefined ? v.slice(0, step.maxItems) : v
          }
          opts.onEvent({ type: "step-start", step: step.id, total: items.length })
          const models = step.models.map((id) => catalog.resolveOrThrow(id).model)
          const validateJson =
            step.format === "json" && step.schema !== undefined ? ajv.compile(step.schema) : undefined
          const check =
            step.format === "json"
              ? (body: unknown) => {
                  let parsed: unknown
                  try {
                    parsed = JSON.parse(unfence(contentOf(body)))
                  } catch {
                    return "the reply is not valid JSON"
                  }
                  if (validateJson && !validateJson(parsed))
                    return `the reply does not match the schema: ${ajv.errorsText(validateJson.errors, { dataVar: "reply" })}`
                  return undefined
                }
              : undefined
          // results stay in memory only when a later template reads them; they are on disk anyway
          const outputs: unknown[] = []
          const keep = referenced.has(step.id) || step.forEach === undefined
          const collect = (output: unknown) => {
            if (keep) outputs.push(output)
          }
          const failStep = (message: string) => {
            if (step.continueOnError || failure !== undefined) return
            failure = { kind: "step-failed", message }
            Effect.runSync(engine.stop(new Engine.RunStopped({ reason: "failed", message })))
          }
          const one = (item: unknown, index: number): Effect.Effect<ItemResult> =>
            Effect.gen(function* () {
              const itemScope = step.forEach !== undefined ? { ...scope, [step.as]: item, index } : scope
              let messages: Message[]
              try {
                messages = step.messages.map((m) => ({ role: m.role, content: render(m.content, itemScope) }))
              } catch (e) {
                return { _tag: "invalid", index, message: `template: ${(e as Error).message}` } as const
              }
              const body = buildBody(step, messages)
              const key = ResponseCache.cacheKey(planned.baseUrl, body)
              const previous = records.previous.get(key)
              if (previous !== undefined)
                return { _tag: "reused", index, record: { ...previous, index, reused: true } } as const
              const job: Engine.Job = {
                label: step.forEach !== undefined ? `${step.id}[${index}]` : step.id,
                request: { baseUrl: planned.baseUrl, body, timeoutMs: step.timeoutMs },
                models,
                free: models.every((m) => m.free),
                worstCost: worstRequestCost(models, messages, step.maxTokens),
                maxAttempts: step.maxAttempts,
                useCache: step.cache && !opts.noCache,
                check,
                inflight: gate.withPermits(1)
              }
              const result = yield* Effect.result(engine.execute(job))
              if (result._tag === "Failure")
                return { _tag: "failed", index, key, error: result.failure } as const
              const c = result.success
              const text = contentOf(c.body)
              const output: unknown = step.format === "json" ? JSON.parse(unfence(text)) : text
              return { _tag: "done", index, key, completion: c, output } as const
            })
          const sink = (r: ItemResult) =>
            Effect.sync(() => {
              switch (r._tag) {
                case "done": {
                  const c = r.completion
                  records.request(step.id, {
                    index: r.index,
                    key: r.key,
                    status: "ok",
                    output: r.output,
                    cost_usd: Money.toPlain(c.cost),
                    cost_source: c.costSource,
                    ...(c.catalogCost !== undefined
                      ? { catalog_cost_usd: Money.toPlain(c.catalogCost) }
                      : {}),
                    cached: c.cached,
                    attempts: c.attempts,
                    usage: c.usage,
                    ...(c.model !== undefined ? { model: c.model } : {})
                  })
                  collect(r.output)
                  a.completed++
                  if (c.cached) a.cached++
                  else {
                    a.requests += c.attempts
                    a.retries += c.attempts - 1
                    a.rateLimited += c.rateLimited
                    a.cost = Money.add(a.cost, c.cost)
                    a.completionTokens += c.usage?.completionTokens ?? 0
                  }
                  return
                }
                case "reused":
                  records.request(step.id, r.record)
                  collect(r.record.output)
                  a.completed++
                  a.reused++
                  return
                case "invalid":
                  records.request(step.id, { index: r.index, key: "", status: "error", error: r.message })
                  collect(null)
                  a.failed++
                  failStep(`step "${step.id}"[${r.index}]: ${r.message}`)
                  return
                case "failed": {
                  collect(null)
                  const e = r.error
                  // a request the stop kept from being sent has nothing to record
                  if (e._tag === "RunStopped") return
                  records.request(step.id, {
                    index: r.index,
                    key: r.key,
                    status: "error",
                    error: e.message,
                    attempts: e.attempts
                  })
                  a.failed++
                  a.requests += e.attempts
                  a.retries += Math.max(0, e.attempts - 1)
                  failStep(`step "${step.id}" failed: ${e.label}: ${e.message}`)
                }
              }
            })
          yield* Scheduler.forEachOrdered(
            items,
            one,
            sink,
            Math.max(1, opts.concurrency ?? pipeline.concurrency)
          )
          stepOutputs[step.id] = !keep
            ? { records: `steps/${step.id}.jsonl` }
            : step.forEach !== undefined
              ? { outputs }
              : { output: outputs[0] ?? null }
          opts.onEvent({ type: "step-end", step: step.id, completed: a.completed, failed: a.failed })
        })

      yield* Scheduler.runDag(
        pipeline.steps.map((s) => ({ id: s.id, needs: dependencies(s), run: runStep(s) }))
      )
      const cacheStats = yield* (yield* ResponseCache.ResponseCache).stats
      if (cacheStats.corrupt > 0)
        opts.onEvent({
          type: "cache-corrupt",
          count: cacheStats.corrupt,
          message: `${cacheStats.corrupt} damaged cache entr${cacheStats.corrupt === 1 ? "y was" : "ies were"} ignored and removed`
        })
      return { stopped: yield* engine.stopped, cacheStats }
    })

    const ran = yield* program.pipe(Effect.provide(layer), Effect.scoped, Effect.result)
    if (ran._tag === "Failure") {
      // the store could not be reached: nothing was sent
      const error = storeUnavailable(opts.store ?? "", ran.failure)
      return {
        status: "failed",
        reason: error.message,
        stopKind: "store-unavailable",
        steps: actual,
        outputs: {},
        stepOutputs,
        durationMs: Date.now() - started,
        cost: Money.zero,
        cacheStats: { hits: 0, misses: 0, writes: 0, corrupt: 0, evicted: 0 }
      } satisfies RunOutcome
    }
    const { stopped, cacheStats } = ran.success
    let status: RunStatus = "completed"
    let stopKind: string | undefined
    let reason: string | undefined
    if (failure !== undefined) {
      status = "failed"
      stopKind = failure.kind
      reason = failure.message
    } else if (stopped !== undefined) {
      status = stopped.reason === "interrupted" ? "interrupted" : "stopped"
      stopKind = stopped.reason
      reason = stopped.message
    }
    const outputs: Record<string, unknown> = {}
    if (status === "completed")
      for (const [name, template] of Object.entries(pipeline.outputs)) {
        try {
          outputs[name] = render(template, { inputs: planned.validated.inputs.values, steps: stepOutputs })
        } catch (e) {
          outputs[name] = null
          opts.onEvent({ type: "output-error", output: name, message: (e as Error).message })
        }
      }
    const cost = Money.sum([...actual.values()].map((a) => a.cost))
    return {
      status,
      reason,
      stopKind,
      steps: actual,
      outputs,
      stepOutputs,
      durationMs: Date.now() - started,
      cost,
      cacheStats
    }
  })

/** Cache size caps from `TOLLGATE_CACHE_MAX_MB` and `TOLLGATE_CACHE_MAX_ENTRIES` (defaults: 512 MiB, 100,000). */
export const cacheCaps = (env: NodeJS.ProcessEnv): { maxBytes?: number; maxEntries?: number } => {
  const mb = Number(env.TOLLGATE_CACHE_MAX_MB)
  const entries = Number(env.TOLLGATE_CACHE_MAX_ENTRIES)
  return {
    ...(Number.isFinite(mb) && mb > 0 ? { maxBytes: mb * 1024 * 1024 } : {}),
    ...(Number.isInteger(entries) && entries > 0 ? { maxEntries: entries } : {})
  }
}

/** Steps whose outputs a later step or a pipeline output reads. */
const referencedSteps = (pipeline: Pipeline): ReadonlySet<string> => {
  const out = new Set(pipeline.steps.flatMap((s) => dependencies(s)))
  for (const text of Object.values(pipeline.outputs)) {
    const r = references(text)
    if ("refs" in r)
      for (const ref of r.refs)
        if (ref.root === "steps" && ref.path[0] !== undefined) out.add(String(ref.path[0]))
  }
  return out
}

type ItemResult =
  | {
      readonly _tag: "done"
      readonly index: number
      readonly key: string
      readonly completion: Engine.Completion
      readonly output: unknown
    }
  | { readonly _tag: "reused"; readonly index: number; readonly record: RequestRecord }
  | { readonly _tag: "invalid"; readonly index: number; readonly message: string }
  | {
      readonly _tag: "failed"
      readonly index: number
      readonly key: string
      readonly error: Engine.RequestFailed | Engine.RunStopped
    }

export type { Catalog }
