/** `runner diff <base.json> <head.json>`: two saved plans of one pipeline compared. */
import { Argument, Command } from "effect/cli"
import * as F from "../Flags.ts"
import { lazy } from "../Lazy.ts"

export const diff = Command.make(
  "diff",
  {
    base: Argument.String("base").pipe(
      Argument.withDescription("the plan before the change (runner plan --out)")
    ),
    head: Argument.String("head").pipe(Argument.withDescription("the plan after it")),
    format: F.format,
    ...F.compareFlags
  },
  (flags) =>
    lazy(
      () => import("../handlers/diff.ts"),
      (m) => m.handle(flags)
    )
).pipe(
  Command.withDescription(
    "what a change does to the bill: two plans of one pipeline, per step and in total, before → after, and why each step moved; markdown for a pull-request comment"
  )
)
