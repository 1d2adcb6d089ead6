/** The catalog as a table, markdown or JSON, with each free model's policy. Pure. */
import type * as Catalog from "@tollgate/pricing/Catalog"
import * as Money from "@tollgate/pricing/Money"
import * as Policy from "@tollgate/pricing/Policy"
import { catalogJson } from "../plan/PlanJson.ts"
import { freePolicyText, perMillion, perMillionJson, rpmScope } from "./Format.ts"
import { type Column, renderMarkdownTable, renderTable } from "./Table.ts"

const COLUMNS: ReadonlyArray<Column> = [
  { header: "model" },
  { header: "context", align: "right" },
  { header: "$/M in", align: "right" },
  { header: "$/M out", align: "right" },
  { header: "policy" }
]

export const modelsJson = (
  catalog: Catalog.Catalog,
  models: ReadonlyArray<Catalog.Model>,
  policy: Policy.Policy
) => ({
  format_version: 1,
  catalog: catalogJson(catalog),
  models: models.map((m) => ({
    id: m.id,
    name: m.name,
    context_length: m.contextLength ?? null,
    max_completion_tokens: m.maxCompletionTokens ?? null,
    free: m.free,
    price_unknown: m.unknownPrice,
    usd_per_million: {
      prompt: perMillionJson(m.rates.prompt),
      completion: perMillionJson(m.rates.completion),
      ...(m.rates.input_cache_read !== undefined
        ? { cache_read: perMillionJson(m.rates.input_cache_read) }
        : {}),
      ...(m.rates.input_cache_write !== undefined
        ? { cache_write: perMillionJson(m.rates.input_cache_write) }
        : {}),
      ...(m.rates.internal_reasoning !== undefined
        ? { reasoning: perMillionJson(m.rates.internal_reasoning) }
        : {})
    },
    usd_per_request: m.rates.request === null ? null : Money.toNumber(m.rates.request),
    free_policy: m.free
      ? {
          rpm: Policy.freeRpm(policy, m.id),
          rpm_scope: rpmScope(policy, m.id),
          per_day_below_threshold: policy.free.perDayLow,
          per_day_at_or_above_threshold: policy.free.perDayHigh,
          credits_threshold_usd: policy.free.creditsThresholdUsd
        }
      : null
  }))
})

export const renderModels = (
  models: ReadonlyArray<Catalog.Model>,
  policy: Policy.Policy,
  format: "table" | "markdown"
): string => {
  const rows = models.map((m) => [
    m.id,
    m.contextLength === undefined ? "-" : String(m.contextLength),
    perMillion(m.rates.prompt),
    perMillion(m.rates.completion),
    freePolicyText(policy, m)
  ])
  return format === "markdown" ? renderMarkdownTable(COLUMNS, rows) : renderTable(COLUMNS, rows)
}
