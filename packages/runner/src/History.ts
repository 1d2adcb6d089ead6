/** Earlier runs' records: mean completion tokens per step, for the plan's expected numbers. */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"

interface SummaryLike {
  readonly pipeline?: { readonly name?: string }
  readonly finished_at?: string
  readonly steps?: ReadonlyArray<{
    readonly id: string
    readonly actual?: { readonly completion_tokens_mean?: number | null }
  }>
}

/** From the newest finished run of `pipeline` under `runsDir`, each step's mean completion tokens. */
export const readHistory = (runsDir: string, pipeline: string): Record<string, number> => {
  let names: string[]
  try {
    names = readdirSync(runsDir)
  } catch {
    return {}
  }
  let best: SummaryLike | undefined
  for (const name of names) {
    try {
      const s = JSON.parse(readFileSync(join(runsDir, name, "summary.json"), "utf8")) as SummaryLike
      if (s.pipeline?.name !== pipeline) continue
      if (best === undefined || (s.finished_at ?? "") > (best.finished_at ?? "")) best = s
    } catch {
      // a run without a summary (crashed) or unreadable: skip
    }
  }
  const out: Record<string, number> = {}
  for (const s of best?.steps ?? []) {
    const mean = s.actual?.completion_tokens_mean
    if (typeof mean === "number" && Number.isFinite(mean) && mean > 0) out[s.id] = mean
  }
  return out
}
