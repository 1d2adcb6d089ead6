/** Token counts and cost of a decoded reply: the provider's `usage`, else catalog prices. */
import * as Cost from "@tollgate/pricing/Cost"
import * as Money from "@tollgate/pricing/Money"
import type { ChatReply } from "./ChatReply.ts"
import type { Job, UsageCounts } from "./Job.ts"

/** Token counts and the provider's `usage.cost` of a reply. */
export const readUsage = (
  reply: ChatReply
): { counts: UsageCounts | undefined; cost: Money.Usd | undefined } => {
  const u = reply.usage
  if (u === undefined) return { counts: undefined, cost: undefined }
  return {
    counts: {
      promptTokens: u.promptTokens,
      completionTokens: u.completionTokens,
      reasoningTokens: u.reasoningTokens,
      cachedTokens: u.cachedTokens
    },
    cost: u.cost === undefined ? undefined : Money.fromNumber(u.cost)
  }
}

/** The catalog price of a reply: at the model that answered, else the primary. */
export const catalogCostOf = (
  job: Job,
  reply: ChatReply,
  counts: UsageCounts | undefined,
  at: Date
): Money.Usd | undefined => {
  if (counts === undefined) return undefined
  const model = job.models.find((m) => m.id === reply.model) ?? job.models[0]
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
