/** `runner report <run-dir | plan.json>`: one self-contained HTML page of a run or a plan. */
import { Argument, Command, Flag } from "effect/cli"
import { lazy } from "../Lazy.ts"

export const report = Command.make(
  "report",
  {
    target: Argument.String("run-dir | plan.json").pipe(
      Argument.withDescription(
        "a run's records directory (.tollgate/runs/<run-id>), or a plan saved with `plan --out`"
      )
    ),
    out: Flag.String("out").pipe(
      Flag.withMetavar("FILE"),
      Flag.withDescription(
        "where to write the page (default: report.html in the run directory, or the plan's name with .html; - for stdout)"
      ),
      Flag.optional
    )
  },
  (flags) =>
    lazy(
      () => import("../handlers/report.ts"),
      (m) => m.handle(flags)
    )
).pipe(
  Command.withDescription(
    "write an HTML report (no network needed to open it): totals, cost per step, a timeline of requests and waits, free quota per day, and the outputs"
  )
)
