/** `runner show <run-dir> [step] [--item N]`: what a run produced. */
import { Argument, Command, Flag } from "effect/cli"
import { lazy } from "../Lazy.ts"

export const show = Command.make(
  "show",
  {
    dir: Argument.String("run-dir").pipe(
      Argument.withDescription("a run's records directory (.tollgate/runs/<run-id>)")
    ),
    step: Argument.String("step").pipe(Argument.withDescription("a step's id"), Argument.optional),
    item: Flag.Int("item").pipe(
      Flag.withMetavar("N"),
      Flag.withDescription("one item's output (its index in the step's for_each)"),
      Flag.optional
    ),
    format: Flag.Literals("format", ["text", "json", "jsonl"]).pipe(
      Flag.withDescription("output: text for people, json, or jsonl (one item a line, for piping)"),
      Flag.withDefault("text")
    )
  },
  (flags) =>
    lazy(
      () => import("../handlers/show.ts"),
      (m) => m.handle(flags)
    )
).pipe(
  Command.withDescription(
    "print a run's outputs: the pipeline's named outputs and each step's count, a step's outputs item by item, or one item's"
  )
)
