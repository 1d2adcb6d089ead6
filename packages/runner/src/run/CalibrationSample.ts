/** A fresh reply as a calibration sample: what we expected of its prompt, what was billed, how long it was. */
import type { Completion } from "@tollgate/core/Engine"
import * as MutableList from "effect/MutableList"
import type { Message, Step } from "../dsl/Pipeline.ts"
import type { Sample } from "../plan/Calibration.ts"
import { expectedRequestTokens } from "../plan/TokenEstimate.ts"
import { isTruncated } from "./Reply.ts"
import type { RunContext } from "./RunContext.ts"

/** Records a sample when the run calibrates and the reply came from the provider now (not the cache). */
export const sample = (
  ctx: RunContext,
  step: Step,
  messages: ReadonlyArray<Message>,
  completion: Completion,
  items: number,
  maxTokens: number
): void => {
  const c = ctx.calibration
  const usage = completion.usage
  if (c === undefined || completion.cached || usage === undefined) return
  // the model that answered, when it is one the step names (else the step's first), by its catalog id as the plan looks it up
  const named = completion.model !== undefined ? step.models.indexOf(completion.model) : -1
  const written = step.models[Math.max(0, named)]!
  const model = ctx.planned.catalog.resolve(written)?.model.id ?? written
  const id = completion.reply.id
  const s: Sample = {
    pipeline: ctx.planned.validated.pipeline.name,
    step: step.id,
    model,
    expectedPrompt: expectedRequestTokens(messages, c.tokens),
    billedPrompt: usage.promptTokens,
    completionPerItem: usage.completionTokens / items,
    items,
    // cut off at the cap: the reply wanted at least this much
    capped: isTruncated(completion.reply) || usage.completionTokens >= maxTokens,
    ...(id !== undefined ? { generationId: id } : {})
  }
  MutableList.append(c.samples, s)
}
