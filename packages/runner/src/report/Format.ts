/** Shared rendering of prices and catalog facts for the CLI. Pure. */
import type * as Catalog from "@tollgate/pricing/Catalog"
import * as Money from "@tollgate/pricing/Money"
import * as Policy from "@tollgate/pricing/Policy"

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

/** Whether a free model's requests-per-minute limit is shared by the account or its own. */
export const rpmScope = (policy: Policy.Policy, id: string): "account" | "model" =>
  Policy.freeRpmBucket(policy, id) === "free:*" ? "account" : "model"

/** The free-tier policy for a model in words, e.g. "free: 20 rpm (account), 50/day (<$10 bought)". */
export const freePolicyText = (policy: Policy.Policy, model: Catalog.Model): string => {
  if (!model.free) return ""
  const rpm = Policy.freeRpm(policy, model.id)
  return `free: ${rpm} rpm (${rpmScope(policy, model.id)}), ${policy.free.perDayLow}/day (<$${policy.free.creditsThresholdUsd} bought) or ${policy.free.perDayHigh}/day`
}

/** `$0.0105`, rounded to 6 decimals for display (JSON keeps full precision). */
export const money = (n: number): string => {
  if (n === 0) return "$0"
  if (n < 0.000001) return "<$0.000001"
  return `$${Number(n.toFixed(6)).toString()}`
}

export const duration = (s: number): string => {
  if (s < 60) return `${Math.round(s)}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${Math.round(s % 60)}s`
  return `${Math.floor(m / 60)}h ${m % 60}m`
}
