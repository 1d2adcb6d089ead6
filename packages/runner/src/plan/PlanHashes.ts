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

/**
 * The inputs' hash: an input read from a data file is named by the file's hash (its value is that
 * file's, as read), so a plan of a million rows does not walk and serialize them all again.
 */
const inputsHash = (v: Validated): string =>
  Fingerprint.sha256(
    Fingerprint.canonicalJson(
      Object.fromEntries(
        Object.entries(v.inputs.values).map(([name, value]) => {
          const file = v.inputs.fromFiles[name]
          return [name, file !== undefined ? { data_file_sha256: file } : value]
        })
      )
    )
  )

/**
 * The inputs' hash as earlier runners took it (every value serialized, data files' rows too):
 * a run such a runner left unfinished resumes under it. Undefined when no input is a data file's
 * (then the two are the same).
 */
export const legacyInputsHash = (v: Validated): (() => string) | undefined =>
  Object.keys(v.inputs.fromFiles).length === 0
    ? undefined
    : () => Fingerprint.sha256(Fingerprint.canonicalJson(v.inputs.values))

export const hashesOf = (v: Validated, catalog: Catalog.Catalog): PlanHashes => {
  const models = [...new Set(v.pipeline.steps.flatMap((s) => s.models))].sort()
  return {
    pipeline: Fingerprint.sha256(v.loaded.source),
    inputs: inputsHash(v),
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
