/** The plan as versioned JSON (spec/cli.md): what `runner plan --format json` prints and `run` records. Pure. */

import * as Fingerprint from "@tollgate/core/Fingerprint"
import type * as Catalog from "@tollgate/pricing/Catalog"
import * as Money from "@tollgate/pricing/Money"
import type { AccountFacts } from "../account/AccountFacts.ts"
import type { Step } from "../dsl/Pipeline.ts"
import { redactUrl } from "../store/StoreUrl.ts"
import type { Costs, OverflowPlan } from "./OverflowProjection.ts"
import type { Planned } from "./Plan.ts"

/** 2: each step says what it is made of (`definition`), so two plans can be diffed with reasons. */
export const FORMAT_VERSION = 2

const usd = (m: Money.Usd) => Money.toNumber(m)

/** Where the prices came from, as JSON. */
export const catalogJson = (catalog: Catalog.Catalog) => ({
  source: catalog.source.kind,
  label: catalog.source.label,
  date: catalog.source.date,
  models: catalog.size,
  skipped: catalog.issues.length
})

/** The account the plan took, each figure with where it came from (declared, provider, learned, default). */
export const accountJson = (a: AccountFacts, freeUsedToday: { readonly ledger: number }) => ({
  free_per_day: a.freePerDay,
  free_used_today:
    a.freeUsedByProvider !== undefined && a.freeUsedByProvider > freeUsedToday.ledger
      ? { value: a.freeUsedByProvider, source: "provider" as const }
      : { value: freeUsedToday.ledger, source: "ledger" as const },
  credits_purchased_usd: a.creditsPurchasedUsd,
  balance_usd: { value: a.balanceUsd.value ?? null, source: a.balanceUsd.source },
  key_limit_usd:
    a.keyLimit !== undefined
      ? { limit: a.keyLimit.limitUsd, remaining: a.keyLimit.remainingUsd, source: "provider" as const }
      : null,
  budgets: a.budgets.map((b) => ({
    scope: b.scope,
    remaining_usd: b.remainingUsd,
    limit_usd: b.limitUsd,
    resets_at: b.resetsAt
  }))
})

/** Packed steps (`pack`): their items, the requests they go in, and the requests (free quota) that saves. */
const packingJson = (steps: Planned["projection"]["steps"]) => {
  const packed = steps.filter((s) => s.pack !== undefined && !s.skipped)
  if (packed.length === 0) return {}
  const items = packed.reduce((n, s) => n + (s.items ?? 0), 0)
  const requests = packed.reduce((n, s) => n + s.requests, 0)
  return { packing: { items, requests, saved: items - requests } }
}

const costsJson = (c: Costs) => ({ expected: usd(c.expected), p90: usd(c.p90), max: usd(c.max) })

/** With a deadline: each overflow step's free days and paid part, and the alternatives side by side. */
const deadlineJson = (o: OverflowPlan | undefined) =>
  o === undefined
    ? {}
    : {
        deadline: {
          at: new Date(o.deadlineMs).toISOString(),
          steps: o.steps.map((s) => ({
            id: s.id,
            free_model: s.freeModel,
            paid_model: s.paidModel,
            requests: s.requests,
            free_requests: s.placement.free,
            paid_requests: s.placement.paid,
            free_by_day: s.placement.freeByDay.map((d) => ({ date: d.date, free_requests: d.requests })),
            paid_cost_usd: costsJson(s.paid),
            paid_request_expected_usd: usd(s.perPaidRequest)
          })),
          alternatives: {
            free_only: {
              days: o.freeOnly.days,
              last_day: o.freeOnly.lastDay ?? null,
              meets_deadline: o.freeOnly.meetsDeadline
            },
            with_overflow: { cost_usd: costsJson(o.withOverflow) },
            all_paid: { cost_usd: costsJson(o.allPaid) }
          }
        }
      }

const perMillion = (r: Catalog.Rate | undefined) =>
  r === null || r === undefined ? null : Money.toNumber(Money.times(r, 1_000_000))

/**
 * What a step is made of, for a diff to say why its cost moved: its prompt templates (by hash),
 * `max_tokens`, pack size, and its first model's price (USD per million tokens).
 */
const definitionOf = (step: Step | undefined, catalog: Catalog.Catalog) => {
  if (step === undefined) return undefined
  const rates = catalog.resolve(step.models[0] ?? "")?.model.rates
  return {
    prompt_hash: Fingerprint.sha256(Fingerprint.canonicalJson(step.messages)).slice(0, 16),
    max_tokens: step.maxTokens,
    pack: step.pack,
    price_per_million: { prompt: perMillion(rates?.prompt), completion: perMillion(rates?.completion) }
  }
}

export const planJson = (p: Planned) => {
  const defined = new Map(p.validated.pipeline.steps.map((s) => [s.id, s]))
  const proj = p.projection
  return {
    format_version: FORMAT_VERSION,
    pipeline: { name: p.validated.pipeline.name, file: p.validated.display },
    ok: proj.violations.length === 0,
    complete: proj.complete,
    requests: proj.requests,
    free_requests: proj.freeRequests,
    cost_usd: { expected: usd(proj.costExpected), p90: usd(proj.costP90), max: usd(proj.costMax) },
    min_duration_s: proj.minDurationS,
    steps: proj.steps.map((s) => ({
      id: s.id,
      model: s.model,
      free: s.free,
      ...(s.skipped ? { skipped: true } : {}),
      requests: s.requests,
      ...(s.pack !== undefined ? { items: s.items, pack: s.pack } : {}),
      cached: s.cached,
      count_known: s.countKnown,
      tokens: s.tokens,
      cost_usd: { expected: usd(s.costExpected), p90: usd(s.costP90), max: usd(s.costMax) },
      max_request_cost_usd: usd(s.maxRequestCost),
      definition: definitionOf(defined.get(s.id), p.catalog)
    })),
    ...packingJson(proj.steps),
    ...deadlineJson(proj.overflow),
    account: accountJson(p.account, { ledger: proj.quota.freeUsedToday - proj.quota.freeUsedElsewhere }),
    quota: {
      free_per_day: proj.quota.freePerDay,
      free_used_today: proj.quota.freeUsedToday,
      free_left_today: proj.quota.freeLeftToday,
      /** The UTC days the free requests need, and how many fall on each. */
      days: proj.quota.days.map((d) => ({ date: d.date, free_requests: d.requests }))
    },
    budget: {
      max_cost_usd: proj.budget.maxCostUsd ?? null,
      max_requests: proj.budget.maxRequests ?? null,
      max_free_requests: proj.budget.maxFreeRequests ?? null,
      gate: proj.budget.gate
    },
    violations: proj.violations,
    catalog: catalogJson(p.catalog),
    base_url: redactUrl(p.baseUrl),
    hashes: p.hashes
  }
}
export type PlanJson = ReturnType<typeof planJson>
