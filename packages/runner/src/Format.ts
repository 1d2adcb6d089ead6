/** Shared rendering of prices and catalog facts for the CLI. Pure. */
import { type Catalog, Money, Policy } from "@tollgate/pricing"

const MILLION = Money.usd("1000000")

/** A per-token rate as USD per 1M tokens (`3`, `0.075`), or `unknown` for `"-1"`. */
export const perMillion = (rate: Catalog.Rate | undefined): string =>
  rate === undefined ? "-" : rate === null ? "unknown" : Money.toPlain(Money.mul(rate, MILLION))

/** The JSON form of a per-million rate: a number, or null when unknown. */
export const perMillionJson = (rate: Catalog.Rate | undefined): number | null | undefined =>
  rate === undefined ? undefined : rate === null ? null : Money.toNumber(Money.mul(rate, MILLION))

/** "bundled snapshot 2026-08-19 (414 models)". */
export const describeSource = (catalog: Catalog.Catalog): string =>
  `${catalog.source.label}${catalog.source.date ? ` ${catalog.source.date}` : ""} (${catalog.size} models)`

export const catalogJson = (catalog: Catalog.Catalog) => ({
  source: catalog.source.kind,
  label: catalog.source.label,
  date: catalog.source.date,
  models: catalog.size,
  skipped: catalog.issues.length
})

/** The free-tier policy for a model in words, e.g. "free: 20 rpm (account), 50/day (<$10 bought)". */
export const freePolicyText = (policy: Policy.Policy, model: Catalog.Model): string => {
  if (!model.free) return ""
  const rpm = Policy.freeRpm(policy, model.id)
  const scope = Policy.freeRpmBucket(policy, model.id) === "free:*" ? "account" : "model"
  return `free: ${rpm} rpm (${scope}), ${policy.free.perDayLow}/day (<$${policy.free.creditsThresholdUsd} bought) or ${policy.free.perDayHigh}/day`
}
