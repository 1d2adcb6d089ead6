/**
 * Settles a run dir against the provider's bill, after its requests (never among them, so it
 * cannot slow the run or take its place under the key's rate limit): a few lookups at a time,
 * asked again with growing pauses while the provider has not recorded a generation yet, all
 * within a time limit. What is settled is appended to `settlements.jsonl`; what is not stays
 * labelled unsettled for `runner reconcile`.
 */
import * as Money from "@tollgate/pricing/Money"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import type { Lookup } from "../providers/GenerationApi.ts"
import { Providers } from "../providers/Providers.ts"
import { allRecords, appendSettlements, readSettlements } from "./Records.ts"
import {
  billedRequests,
  type Drift,
  driftOf,
  type SettlementLine,
  type Target,
  unsettled
} from "./Settlement.ts"

/** Settling takes at most this long by default: generations are recorded a few seconds after their answer. */
export const SETTLE_TIMEOUT_MS = 20_000

export interface SettleOptions {
  /** How long settling may take in all (ms). */
  readonly timeoutMs: number
  /** Lookups in flight at once. */
  readonly concurrency?: number
  /** The first pause before asking again for generations not recorded yet (ms); it doubles, up to 4 s. */
  readonly firstPauseMs?: number
}

export interface Settled {
  readonly lines: ReadonlyArray<SettlementLine>
  /** Still not recorded by the provider when the time was up. */
  readonly pending: ReadonlyArray<Target>
  /** The provider refused to say (401, a reply we cannot read): why, once per reason. */
  readonly failures: ReadonlyArray<string>
}

const lineOf = (t: Target, l: Extract<Lookup, { _tag: "settled" }>, at: number): SettlementLine => ({
  generation_id: t.generationId,
  step: t.step,
  key: t.key,
  reply_cost_usd: Money.toPlain(t.replyCost),
  settled_cost_usd: Money.toPlain(l.totalCost),
  ...(l.nativePrompt !== undefined ? { native_tokens_prompt: l.nativePrompt } : {}),
  ...(l.nativeCompletion !== undefined ? { native_tokens_completion: l.nativeCompletion } : {}),
  settled_at: new Date(at).toISOString()
})

/** Asks the bill of each target, in rounds, until all are answered or the time is up. */
export const settleTargets = Effect.fn("Settle.settleTargets")(function* (
  targets: ReadonlyArray<Target>,
  ask: (generationId: string) => Effect.Effect<Lookup>,
  opts: SettleOptions
) {
  const start = yield* Clock.currentTimeMillis
  const lines: SettlementLine[] = []
  const failures = new Set<string>()
  let left = targets
  let pause = opts.firstPauseMs ?? 1_000
  while (left.length > 0) {
    const answers = yield* Effect.forEach(
      left,
      (t) => Effect.map(ask(t.generationId), (l) => [t, l] as const),
      {
        concurrency: opts.concurrency ?? 4
      }
    )
    const now = yield* Clock.currentTimeMillis
    const next: Target[] = []
    for (const [t, l] of answers)
      if (l._tag === "settled") lines.push(lineOf(t, l, now))
      else if (l._tag === "pending") next.push(t)
      else failures.add(l.why)
    left = next
    if (left.length === 0 || now + pause > start + opts.timeoutMs) break
    yield* Effect.sleep(pause)
    pause = Math.min(4_000, pause * 2)
  }
  return { lines, pending: left, failures: [...failures] } satisfies Settled
})

/** The run dir's drift after settling what it can: appended to its settlements, never rewritten. */
export const settleRunDir = Effect.fn("Settle.settleRunDir")(function* (
  dir: string,
  ask: (generationId: string) => Effect.Effect<Lookup>,
  opts: SettleOptions
) {
  const targets = billedRequests(allRecords(dir))
  const before = readSettlements(dir)
  const settled = yield* settleTargets(unsettled(targets, before), ask, opts)
  appendSettlements(dir, settled.lines)
  const lines = [...before, ...settled.lines]
  return {
    targets,
    lines,
    drift: driftOf(targets, lines) satisfies Drift,
    newly: settled.lines.length,
    failures: settled.failures
  }
})
export type RunDirSettlement = Effect.Success<ReturnType<typeof settleRunDir>>

/** Settles a run dir with the provider the run talked to (`Providers.generation`). */
export const settleWithProvider = Effect.fn("Settle.settleWithProvider")(function* (
  dir: string,
  s: { readonly baseUrl: string; readonly apiKey: Redacted.Redacted<string> | undefined },
  opts: SettleOptions
) {
  const providers = yield* Providers
  return yield* settleRunDir(
    dir,
    (id) => providers.generation({ baseUrl: s.baseUrl, apiKey: s.apiKey, id }),
    opts
  )
})
