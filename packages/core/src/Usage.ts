/** Token counts and cost from a chat completion body: the provider's `usage`, else catalog prices. */
import * as Cost from "@tollgate/pricing/Cost"
import * as Money from "@tollgate/pricing/Money"
import type { Job, UsageCounts } from "./Job.ts"

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0)

/** Token counts and the provider's `usage.cost` from a chat completion body. */
export const readUsage = (
  body: unknown
): { counts: UsageCounts | undefined; cost: Money.Usd | undefined } => {
  const usage = (body as { usage?: Record<string, unknown> } | null)?.usage
  if (typeof usage !== "object" || usage === null) return { counts: undefined, cost: undefined }
  const pd = usage.prompt_tokens_details as Record<string, unknown> | undefined
  const cd = usage.completion_tokens_details as Record<string, unknown> | undefined
  const counts: UsageCounts = {
    promptTokens: num(usage.prompt_tokens),
    completionTokens: num(usage.completion_tokens),
    reasoningTokens: num(cd?.reasoning_tokens),
    cachedTokens: num(pd?.cached_tokens)
  }
  const cost =
    typeof usage.cost === "number" && Number.isFinite(usage.cost) && usage.cost >= 0
      ? Money.fromNumber(usage.cost)
      : undefined
  return { counts, cost }
}

/** The catalog price of a reply: at the model that answered (from the body), else the primary. */
export const catalogCostOf = (
  job: Job,
  body: unknown,
  counts: UsageCounts | undefined,
  at: Date
): Money.Usd | undefined => {
  if (counts === undefined) return undefined
  const answered = (body as { model?: unknown } | null)?.model
  const model = job.models.find((m) => m.id === answered) ?? job.models[0]
  if (model === undefined) return undefined
  try {
    return Cost.cost(
      model,
      {
        promptTokens: counts.promptTokens,
        completionTokens: counts.completionTokens,
        reasoningTokens: Math.min(counts.reasoningTokens, counts.completionTokens),
        cachedTokens: Math.min(counts.cachedTokens, counts.promptTokens)
      },
      at
    ).total
  } catch {
    return undefined
  }
}
