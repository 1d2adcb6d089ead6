/** Rules about a step's shape: unique ids, prompt or messages, keys that need `for_each`. */
import type { Diagnostic } from "../Diagnostics.ts"
import { at, eachStep, type Rule } from "./Rule.ts"

/** Every step id is unique. */
export const duplicateSteps: Rule = (ctx) => {
  const seen = new Set<string>()
  const out: Diagnostic[] = []
  ctx.spec.steps.forEach((s, i) => {
    if (seen.has(s.id)) out.push(at(ctx, ["steps", i, "id"], `duplicate step id "${s.id}"`, "duplicate-step"))
    seen.add(s.id)
  })
  return out
}

/** A step has `prompt` or `messages` (one of them); `system` goes with `prompt`. */
export const promptOrMessages: Rule = (ctx) =>
  eachStep(ctx, (s, base, where) => {
    const out: Diagnostic[] = []
    if (s.prompt !== undefined && s.messages !== undefined)
      out.push(
        at(
          ctx,
          [...base, "messages"],
          `${where} has both "prompt" and "messages"; use one`,
          "prompt-or-messages",
          "key"
        )
      )
    else if (s.prompt === undefined && s.messages === undefined)
      out.push(
        at(ctx, [...base, "id"], `${where} has neither "prompt" nor "messages"`, "prompt-or-messages", "key")
      )
    if (s.system !== undefined && s.messages !== undefined)
      out.push(
        at(
          ctx,
          [...base, "system"],
          `${where}: "system" goes with "prompt"; with "messages", add a system message`,
          "prompt-or-messages",
          "key"
        )
      )
    return out
  })

/** `as`, `max_items` and `pack` only mean something on a `for_each` step. */
export const forEachKeys: Rule = (ctx) =>
  eachStep(ctx, (s, base, where) => {
    if (s.for_each !== undefined) return []
    const out: Diagnostic[] = []
    if (s.as !== undefined)
      out.push(
        at(
          ctx,
          [...base, "as"],
          `${where}: "as" names the loop variable of for_each, and the step has no for_each`,
          "for-each",
          "key"
        )
      )
    if (s.max_items !== undefined)
      out.push(
        at(
          ctx,
          [...base, "max_items"],
          `${where}: "max_items" bounds for_each, and the step has no for_each`,
          "for-each",
          "key"
        )
      )
    if (s.pack !== undefined)
      out.push(
        at(
          ctx,
          [...base, "pack"],
          `${where}: "pack" sends several items of for_each in one request, and the step has no for_each`,
          "for-each",
          "key"
        )
      )
    return out
  })
