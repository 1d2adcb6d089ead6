/** One request's cost, as JSON and as a short table. Pure. */
import type * as Catalog from "@tollgate/pricing/Catalog"
import * as Cost from "@tollgate/pricing/Cost"
import * as Money from "@tollgate/pricing/Money"
import { catalogJson } from "../plan/PlanJson.ts"
import { perMillion } from "./Format.ts"
import { renderTable } from "./Table.ts"

export const costJson = (
  catalog: Catalog.Catalog,
  resolved: Catalog.Resolved,
  usage: Cost.Usage,
  result: Cost.Cost
) => ({
  format_version: 1,
  model: resolved.requested,
  priced_as: resolved.model.id,
  estimate: resolved.estimate,
  ...(resolved.note ? { note: resolved.note } : {}),
  catalog: catalogJson(catalog),
  usage: {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    reasoning_tokens: usage.reasoningTokens ?? 0,
    cached_tokens: usage.cachedTokens ?? 0
  },
  breakdown_usd: Object.fromEntries(Cost.COMPONENTS.map((c) => [c, Money.toNumber(result.breakdown[c])])),
  cost_usd: Money.toNumber(result.total),
  cost_usd_exact: Money.toPlain(result.total)
})

export const renderCost = (resolved: Catalog.Resolved, result: Cost.Cost): string => {
  const m = resolved.model
  const rows = Cost.COMPONENTS.filter((c) => !Money.isZero(result.breakdown[c])).map((c) => [
    c,
    Money.format(result.breakdown[c])
  ])
  return (
    `${resolved.requested}${resolved.estimate ? ` (priced as ${m.id})` : ""}: ${Money.format(result.total)}\n` +
    `  $/M in ${perMillion(m.rates.prompt)}, $/M out ${perMillion(m.rates.completion)}\n` +
    (rows.length > 0 ? renderTable([{ header: "component" }, { header: "usd", align: "right" }], rows) : "") +
    (resolved.note ? `note: ${resolved.note}\n` : "")
  )
}
