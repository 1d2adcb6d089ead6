/** `runner cost <model> --prompt-tokens N --completion-tokens M [...]`: one request's exact cost. */
import { Argument, Command, Flag } from "effect/cli"
import * as F from "../Flags.ts"
import { lazy } from "../Lazy.ts"

const count = (name: string, what: string) =>
  Flag.String(name).pipe(
    Flag.withMetavar("N"),
    Flag.withDescription(`${what} (a whole number)`),
    Flag.optional
  )

export const cost = Command.make(
  "cost",
  {
    model: Argument.String("model").pipe(
      Argument.withDescription("a model id from the catalog, e.g. openai/gpt-4o-mini")
    ),
    promptTokens: count("prompt-tokens", "prompt tokens"),
    completionTokens: count("completion-tokens", "completion tokens, reasoning included"),
    reasoningTokens: count("reasoning-tokens", "of the completion tokens, how many are reasoning"),
    cachedTokens: count("cached-tokens", "of the prompt tokens, how many are read from the provider's cache"),
    format: F.format
  },
  (flags) =>
    lazy(
      () => import("../handlers/cost.ts"),
      (m) => m.handle(flags)
    )
).pipe(Command.withDescription("one request's exact cost, per component, from the catalog"))
