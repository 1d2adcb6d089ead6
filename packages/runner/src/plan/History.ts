/**
 * Earlier runs' records: mean completion tokens per step, for the plan's expected numbers. Only
 * replies from a real provider count: echo and offline runs (and summaries that do not decode)
 * are skipped.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/** The part of a run's `summary.json` history reads. */
const SummaryForHistory = Schema.Struct({
  pipeline: Schema.Struct({ name: Schema.String }),
  finished_at: Schema.String,
  run: Schema.optionalKey(Schema.Struct({ provider: Schema.optionalKey(Schema.String) })),
  steps: Schema.Array(
    Schema.Struct({
      id: Schema.String,
      actual: Schema.optionalKey(
        Schema.Struct({ completion_tokens_mean: Schema.optionalKey(Schema.NullOr(Schema.Number)) })
      )
    })
  )
})
type SummaryForHistory = typeof SummaryForHistory.Type
const decodeSummary = Schema.decodeUnknownOption(Schema.fromJsonString(SummaryForHistory))

const readSummary = (path: string): SummaryForHistory | undefined => {
  try {
    return Option.getOrUndefined(decodeSummary(readFileSync(path, "utf8")))
  } catch {
    return undefined // a run without a summary (still going, or killed)
  }
}

/** Whether a summary's replies came from a real provider (summaries before this field: yes). */
const fromProvider = (s: SummaryForHistory) => (s.run?.provider ?? "http") === "http"

/** From the newest finished run of `pipeline` under `runsDir`, each step's mean completion tokens. */
export const readHistory = (runsDir: string, pipeline: string): Record<string, number> => {
  let names: string[]
  try {
    names = readdirSync(runsDir)
  } catch {
    return {}
  }
  let best: SummaryForHistory | undefined
  for (const name of names) {
    const s = readSummary(join(runsDir, name, "summary.json"))
    if (s === undefined || s.pipeline.name !== pipeline || !fromProvider(s)) continue
    if (best === undefined || s.finished_at > best.finished_at) best = s
  }
  const out: Record<string, number> = {}
  for (const s of best?.steps ?? []) {
    const mean = s.actual?.completion_tokens_mean
    if (typeof mean === "number" && Number.isFinite(mean) && mean > 0) out[s.id] = mean
  }
  return out
}
