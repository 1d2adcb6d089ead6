/**
 * Settling a run against the provider's bill. Each answered paid request carries its generation
 * id; `settlements.jsonl` beside the step records holds, per generation, the reply's figure
 * (`usage.cost`, or the catalog's) and the bill (`/generation`'s `total_cost`). This module
 * decides what still needs settling and what the settled figures add up to; the budget counts,
 * for every request, the larger of the two. Pure.
 */
import * as Money from "@tollgate/pricing/Money"
import * as Schema from "effect/Schema"
import type { RequestRecord } from "./RequestRecord.ts"

export const SettlementLine = Schema.Struct({
  generation_id: Schema.String,
  step: Schema.String,
  key: Schema.String,
  reply_cost_usd: Schema.String,
  settled_cost_usd: Schema.String,
  native_tokens_prompt: Schema.optionalKey(Schema.Number),
  native_tokens_completion: Schema.optionalKey(Schema.Number),
  settled_at: Schema.String
})
export type SettlementLine = typeof SettlementLine.Type

/** A request the provider billed that the run can ask the bill of. */
export interface Target {
  readonly generationId: string
  readonly step: string
  readonly key: string
  readonly replyCost: Money.Usd
}

/** The run's answered paid requests with a generation id (its own, not reused from elsewhere). */
export const billedRequests = (
  records: ReadonlyMap<string, ReadonlyArray<RequestRecord>>
): ReadonlyArray<Target> => {
  const seen = new Set<string>()
  const targets: Target[] = []
  for (const [step, rs] of records)
    for (const r of rs) {
      const id = r.generation_id
      if (id === undefined || seen.has(id) || r.status !== "ok" || r.cached === true || r.reused === true)
        continue
      const replyCost = Money.parse(r.answer_cost_usd ?? r.cost_usd ?? "") ?? Money.zero
      // a free model's reply costs nothing: there is no bill to check
      if (Money.isZero(replyCost)) continue
      seen.add(id)
      targets.push({ generationId: id, step, key: r.key, replyCost })
    }
  return targets
}

/** The billed requests no settlement line covers yet (a reconcile never settles one twice). */
export const unsettled = (
  targets: ReadonlyArray<Target>,
  lines: ReadonlyArray<SettlementLine>
): ReadonlyArray<Target> => {
  const done = new Set(lines.map((l) => l.generation_id))
  return targets.filter((t) => !done.has(t.generationId))
}

/** What the bill adds over the replies' figures: the budget counts the larger of the two per request. */
export const extraOf = (lines: ReadonlyArray<SettlementLine>): Money.Usd =>
  Money.sum(
    lines.map((l) =>
      Money.max(Money.zero, Money.sub(Money.usd(l.settled_cost_usd), Money.usd(l.reply_cost_usd)))
    )
  )

export interface Drift {
  /** Billed requests with a generation id, and how many of them are settled. */
  readonly requests: number
  readonly settled: number
  /** Of the settled requests: the replies' figures, and the bill. */
  readonly replyUsd: Money.Usd
  readonly settledUsd: Money.Usd
  /** The replies' figures of the requests not settled yet. */
  readonly unsettledUsd: Money.Usd
  /** What the budget counts over the replies' figures. */
  readonly extraUsd: Money.Usd
}

/** Settled against billed, over the requests `keep` selects (all, or one step's). */
export const driftOf = (
  targets: ReadonlyArray<Target>,
  lines: ReadonlyArray<SettlementLine>,
  keep: (step: string) => boolean = () => true
): Drift => {
  const byId = new Map(lines.map((l) => [l.generation_id, l]))
  const mine = targets.filter((t) => keep(t.step))
  const settled = mine.flatMap((t) => {
    const l = byId.get(t.generationId)
    return l === undefined ? [] : [l]
  })
  return {
    requests: mine.length,
    settled: settled.length,
    replyUsd: Money.sum(settled.map((l) => Money.usd(l.reply_cost_usd))),
    settledUsd: Money.sum(settled.map((l) => Money.usd(l.settled_cost_usd))),
    unsettledUsd: Money.sum(mine.filter((t) => !byId.has(t.generationId)).map((t) => t.replyCost)),
    extraUsd: extraOf(settled)
  }
}

/** The drift as the summary's JSON carries it. */
export const driftJson = (d: Drift) => {
  const drift = Money.sub(d.settledUsd, d.replyUsd)
  const reply = Money.toNumber(d.replyUsd)
  return {
    requests: d.requests,
    settled: d.settled,
    unsettled: d.requests - d.settled,
    reply_usd: Money.toPlain(d.replyUsd),
    settled_usd: Money.toPlain(d.settledUsd),
    drift_usd: Money.toPlain(drift),
    drift_pct: reply > 0 ? Math.round((Money.toNumber(drift) / reply) * 10_000) / 100 : 0,
    unsettled_reply_usd: Money.toPlain(d.unsettledUsd),
    extra_usd: Money.toPlain(d.extraUsd)
  }
}
export type DriftJson = ReturnType<typeof driftJson>

/** "settled against the provider: 38 of 40 requests, drift +$0.000120 (+1.2%); 2 unsettled ($0.0004, the replies' figures)" */
export const driftLine = (d: DriftJson): string => {
  const sign = d.drift_usd.startsWith("-") ? "-" : "+"
  const amount = d.drift_usd.replace(/^-/, "")
  const pct = `${d.drift_pct >= 0 ? "+" : ""}${d.drift_pct}%`
  const rest =
    d.unsettled > 0
      ? `; ${d.unsettled} unsettled ($${d.unsettled_reply_usd} by the replies' figures): \`runner reconcile\` settles them later`
      : ""
  return `settled against the provider: ${d.settled} of ${d.requests} request${d.requests === 1 ? "" : "s"}, drift ${sign}$${amount} (${pct})${rest}`
}
