/** Hashes of everything a plan depends on: a saved plan whose hashes differ from today's is stale. */
import * as Fingerprint from "@tollgate/core/Fingerprint"
import type * as Catalog from "@tollgate/pricing/Catalog"
import * as Money from "@tollgate/pricing/Money"
import type { Validated } from "../dsl/ValidateFile.ts"

export interface PlanHashes {
  readonly pipeline: string
  readonly inputs: string
  readonly data: Readonly<Record<string, string>>
  readonly prices: string
}

const pricesOf = (catalog: Catalog.Catalog, ids: ReadonlyArray<string>) =>
  ids.map((id) => {
    const m = catalog.resolve(id)?.model
    if (m === undefined) return [id, null, []]
    const rates = Object.fromEntries(
      Object.entries(m.rates).map(([k, r]) => [
        k,
        r === null ? "-1" : r === undefined ? null : Money.toPlain(r)
      ])
    )
    return [id, rates, m.overrides]
  })

export const hashesOf = (v: Validated, catalog: Catalog.Catalog): PlanHashes => {
  const models = [...new Set(v.pipeline.steps.flatMap((s) => s.models))].sort()
  return {
    pipeline: Fingerprint.sha256(v.loaded.source),
    inputs: Fingerprint.sha256(Fingerprint.canonicalJson(v.inputs.values)),
    data: v.inputs.files,
    prices: Fingerprint.sha256(Fingerprint.canonicalJson(pricesOf(catalog, models)))
  }
}

/** A run's identity: the same pipeline, inputs, data and endpoint resume the same run. */
export const identityOf = (hashes: PlanHashes, baseUrl: string): string =>
  Fingerprint.sha256(JSON.stringify([hashes.pipeline, hashes.inputs, hashes.data, baseUrl]))

/** What changed between a saved plan's hashes and today's, in words (empty when nothing did). */
export const changesSince = (saved: PlanHashes, now: PlanHashes): string[] => [
  ...(saved.pipeline !== now.pipeline ? ["the pipeline"] : []),
  ...(saved.inputs !== now.inputs ? ["the inputs"] : []),
  ...(Fingerprint.canonicalJson(saved.data) !== Fingerprint.canonicalJson(now.data)
    ? ["the data files"]
    : []),
  ...(saved.prices !== now.prices ? ["the prices"] : [])
]
