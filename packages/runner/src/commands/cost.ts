/** `runner cost <model> --prompt-tokens N --completion-tokens M [...]`: one request's exact cost. */
import { Catalog, Cost, Money } from "@tollgate/pricing"
import { loadCatalog } from "../CatalogIo.ts"
import { catalogJson, describeSource, perMillion } from "../Format.ts"
import { type Io, usage as usageError } from "../Io.ts"
import { renderTable } from "../Table.ts"

export interface CostOptions {
  readonly model: string
  readonly usage: Cost.Usage
  readonly format: "table" | "json" | "markdown"
  readonly at: Date
}

/** Token counts above this are a typo, not a request (the largest context windows are ~2M). */
export const MAX_COUNT = 100_000_000

/** Parses a count flag: a whole number from 0 to MAX_COUNT, else a usage error naming the flag. */
export const parseCount = (flag: string, text: string | undefined, required: boolean): number | undefined => {
  if (text === undefined) {
    if (required) throw usageError(`missing --${flag} N (a whole number of tokens)`)
    return undefined
  }
  const trimmed = text.trim()
  if (!/^\d+$/.test(trimmed) || Number(trimmed) > MAX_COUNT)
    throw usageError(`--${flag}: expected a whole number from 0 to ${MAX_COUNT}, got "${text}"`)
  return Number(trimmed)
}

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

export const cost = async (io: Io, opts: CostOptions): Promise<number> => {
  const catalog = await loadCatalog(io)
  let resolved: Catalog.Resolved
  let result: Cost.Cost
  try {
    resolved = catalog.resolveOrThrow(opts.model)
    result = Cost.cost(resolved.model, opts.usage, opts.at)
  } catch (e) {
    if (
      e instanceof Catalog.UnknownModelError ||
      e instanceof Cost.UnknownPriceError ||
      e instanceof Cost.InvalidUsageError
    )
      throw usageError(e.message)
    throw e
  }
  if (opts.format === "json") {
    io.out(`${JSON.stringify(costJson(catalog, resolved, opts.usage, result), null, 2)}\n`)
    return 0
  }
  const m = resolved.model
  const rows = Cost.COMPONENTS.filter((c) => !Money.isZero(result.breakdown[c])).map((c) => [
    c,
    Money.format(result.breakdown[c])
  ])
  io.out(
    `${resolved.requested}${resolved.estimate ? ` (priced as ${m.id})` : ""}: ${Money.format(result.total)}\n` +
      `  $/M in ${perMillion(m.rates.prompt)}, $/M out ${perMillion(m.rates.completion)}\n` +
      (rows.length > 0
        ? renderTable([{ header: "component" }, { header: "usd", align: "right" }], rows)
        : "") +
      (resolved.note ? `note: ${resolved.note}\n` : "")
  )
  io.err(`catalog: ${describeSource(catalog)}\n`)
  return 0
}
