/** `runner init [dir]`: a starter pipeline and its data that plan and run (with --echo) as they are. */
import { Argument, Command } from "effect/cli"
import { lazy } from "../Lazy.ts"

export const init = Command.make(
  "init",
  {
    dir: Argument.String("dir").pipe(
      Argument.withDescription(
        "where to write pipeline.yaml and notes.jsonl (default: the current directory)"
      ),
      Argument.optional
    )
  },
  (flags) =>
    lazy(
      () => import("../handlers/init.ts"),
      (m) => m.handle(flags)
    )
).pipe(
  Command.withDescription(
    "write a starter pipeline (a free model, a budget of $0, the schema for editors) and its data; never overwrites"
  )
)
