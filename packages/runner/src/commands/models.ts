/** `runner models [--free] [--search TEXT] [--format table|json|markdown]` and `runner models refresh`. */
import { type Catalog, CatalogStore, Money, Policy } from "@tollgate/pricing"
import { Cause, Effect, Exit } from "effect"
import { catalogStore, loadCatalog } from "../CatalogIo.ts"
import { catalogJson, describeSource, freePolicyText, perMillion, perMillionJson } from "../Format.ts"
import { ExitError, type Io } from "../Io.ts"
import { type Column, renderMarkdownTable, renderTable } from "../Table.ts"

export interface ModelsOptions {
  readonly free: boolean
  readonly search: string | undefined
  readonly format: "table" | "json" | "markdown"
}

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
          rpm_scope: Policy.freeRpmBucket(policy, m.id) === "free:*" ? "account" : "model",
          per_day_below_threshold: policy.free.perDayLow,
          per_day_at_or_above_threshold: policy.free.perDayHigh,
          credits_threshold_usd: policy.free.creditsThresholdUsd
        }
      : null
  }))
})

export const models = async (io: Io, opts: ModelsOptions): Promise<number> => {
  const catalog = await loadCatalog(io)
  const policy = Policy.defaultPolicy
  let list = opts.search ? catalog.search(opts.search) : catalog.models
  if (opts.free) list = list.filter((m) => m.free)
  list = [...list].sort((a, b) => a.id.localeCompare(b.id))
  if (opts.format === "json") {
    io.out(`${JSON.stringify(modelsJson(catalog, list, policy), null, 2)}\n`)
    return 0
  }
  const rows = list.map((m) => [
    m.id,
    m.contextLength === undefined ? "-" : String(m.contextLength),
    perMillion(m.rates.prompt),
    perMillion(m.rates.completion),
    freePolicyText(policy, m)
  ])
  io.out(opts.format === "markdown" ? renderMarkdownTable(COLUMNS, rows) : renderTable(COLUMNS, rows))
  io.err(`${list.length} of ${catalog.size} models; catalog: ${describeSource(catalog)}\n`)
  for (const issue of catalog.issues)
    io.err(`catalog: skipped entry ${issue.index}${issue.id ? ` (${issue.id})` : ""}: ${issue.message}\n`)
  return 0
}

export const refresh = async (io: Io, baseUrl: string): Promise<number> => {
  const exit = await Effect.runPromiseExit(catalogStore(io).refresh(baseUrl, CatalogStore.DEFAULT_LIMITS))
  if (Exit.isSuccess(exit)) {
    io.err(`catalog refreshed: ${describeSource(exit.value)}\n`)
    return 0
  }
  const error = Cause.squash(exit.cause)
  const current = await loadCatalog(io)
  throw new ExitError(
    1,
    `refresh failed: ${error instanceof Error ? error.message : String(error)}; still using ${describeSource(current)}`
  )
}
