/**
 * `runner reconcile <run-dir>`: settles a finished run against the provider's bill later (bills
 * not recorded yet at the run's end, a run made with `--no-settle`). Settles only what no line of
 * `settlements.jsonl` covers, appends, and brings `summary.json`'s costs and drift up to date.
 */
import { join } from "node:path"
import * as Files from "@tollgate/core/Files"
import * as Money from "@tollgate/pricing/Money"
import * as Effect from "effect/Effect"
import { FileFailed, InputInvalid } from "../Errors.ts"
import { isOpenRouter, type KeyVariables, keyFor } from "../providers/KeyRoute.ts"
import { readMeta } from "./Records.ts"
import { type Drift, driftJson, driftOf } from "./Settlement.ts"
import { type RunDirSettlement, type SettleOptions, settleWithProvider } from "./SettleWithProvider.ts"

export interface ReconcileOptions extends SettleOptions {
  readonly dir: string
  /** The directory as the user wrote it, for messages. */
  readonly display: string
  /** The key variables (read at the edge), by name. */
  readonly keys: KeyVariables
  readonly apiKeyEnv: string
  /** `--base-url` (or `$TOLLGATE_BASE_URL`): given by the user, so the key may go there. */
  readonly baseUrl: string | undefined
}

/** A JSON object file of the run dir; `undefined` when it is missing or not an object. */
const readJson = (path: string) =>
  Files.readTextIfAny(path).pipe(
    Effect.map((text) => {
      try {
        const v = JSON.parse(text ?? "null") as unknown
        return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : undefined
      } catch {
        return undefined
      }
    }),
    Effect.orElseSucceed(() => undefined)
  )

/** Where the run sent its requests: its plan's `base_url`, unless the user names one. */
const endpointOf = (o: ReconcileOptions, planned: unknown) => {
  const baseUrl = o.baseUrl ?? (typeof planned === "string" ? planned : undefined)
  if (baseUrl === undefined)
    return Effect.fail(
      new InputInvalid({ message: `${o.display}: the run's plan.json names no base_url; pass --base-url` })
    )
  const apiKey = keyFor(o.keys, o.apiKeyEnv, baseUrl, o.baseUrl !== undefined)
  if (apiKey === undefined && isOpenRouter(baseUrl))
    return Effect.fail(
      new InputInvalid({
        message: `${o.apiKeyEnv} is not set: OpenRouter answers /generation only to the account's key; nothing was asked`
      })
    )
  return Effect.succeed({ baseUrl, apiKey })
}

/** A cost as the summary has it (exact text, else a number), less the extra it counted before, plus the new one. */
const plus = (value: unknown, before: unknown, after: Money.Usd): Money.Usd => {
  const was =
    typeof value === "string"
      ? (Money.parse(value) ?? Money.zero)
      : typeof value === "number"
        ? Money.fromNumber(value)
        : Money.zero
  const old = typeof before === "string" ? (Money.parse(before) ?? Money.zero) : Money.zero
  return Money.add(Money.sub(was, old), after)
}

/** A summary with its costs counting each request at the larger of its reply's figure and its bill. */
export const resettled = (
  summary: Record<string, unknown>,
  s: Pick<RunDirSettlement, "targets" | "lines">
): Record<string, unknown> => {
  const actual = (summary.actual ?? {}) as Record<string, unknown>
  const total = driftOf(s.targets, s.lines)
  const before = (actual.settlement as { extra_usd?: unknown } | undefined)?.extra_usd
  const cost = plus(actual.cost_usd_exact ?? actual.cost_usd, before, total.extraUsd)
  const sources = (actual.cost_sources ?? {}) as Record<string, unknown>
  const steps = Array.isArray(summary.steps) ? (summary.steps as Array<Record<string, unknown>>) : []
  return {
    ...summary,
    actual: {
      ...actual,
      cost_usd: Money.toNumber(cost),
      cost_usd_exact: Money.toPlain(cost),
      cost_sources: { ...sources, settled_extra_usd: Money.toNumber(total.extraUsd) },
      settlement: driftJson(total)
    },
    steps: steps.map((st) => {
      const a = (st.actual ?? {}) as Record<string, unknown>
      const d = driftOf(s.targets, s.lines, (id) => id === st.id)
      const was = (a.settlement as { extra_usd?: unknown } | undefined)?.extra_usd
      const stepCost = Money.toNumber(plus(a.cost_usd, was, d.extraUsd))
      return { ...st, actual: { ...a, cost_usd: stepCost, settlement: driftJson(d) } }
    })
  }
}

export interface Reconciled {
  readonly drift: Drift
  readonly newly: number
  readonly pending: number
  readonly failures: ReadonlyArray<string>
  readonly steps: ReadonlyArray<{ readonly id: string; readonly drift: Drift }>
}

/** Settles what the run dir has not settled yet, and updates its summary. */
export const reconcile = Effect.fn("Reconcile.reconcile")(function* (o: ReconcileOptions) {
  if (readMeta(o.dir) === undefined)
    return yield* new InputInvalid({ message: `${o.display}: not a run directory (no run.json)` })
  const endpoint = yield* endpointOf(o, (yield* readJson(join(o.dir, "plan.json")))?.base_url)
  const s = yield* settleWithProvider(o.dir, endpoint, o)
  const summaryFile = join(o.dir, "summary.json")
  const summary = yield* readJson(summaryFile)
  if (summary !== undefined)
    yield* Files.writeAtomic(summaryFile, `${JSON.stringify(resettled(summary, s), null, 2)}\n`).pipe(
      Effect.mapError(FileFailed.of)
    )
  const stepIds = [...new Set(s.targets.map((t) => t.step))]
  return {
    drift: s.drift,
    newly: s.newly,
    pending: s.drift.requests - s.drift.settled,
    failures: s.failures,
    steps: stepIds.map((id) => ({ id, drift: driftOf(s.targets, s.lines, (x) => x === id) }))
  } satisfies Reconciled
})
