/** `runner report <run-dir | plan.json>`: writes the HTML page of a run or a plan, and says where. */
import { resolve } from "node:path"
import * as Files from "@tollgate/core/Files"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { FileFailed, InputInvalid } from "../../Errors.ts"
import { PlanForReport, readPlanWith } from "../../plan/SavedPlan.ts"
import { planHtml } from "../../report/html/PlanHtml.ts"
import { runHtml } from "../../report/html/RunHtml.ts"
import { readRunDir } from "../../run/RunDir.ts"
import { Io } from "../Io.ts"

export interface ReportFlags {
  readonly target: string
  readonly out: Option.Option<string>
}

const readPlan = readPlanWith(PlanForReport)

export const handle = Effect.fn("runner report")(function* (flags: ReportFlags) {
  const io = yield* Io
  const path = resolve(io.cwd, flags.target)
  const kind = yield* Files.kindOf(path).pipe(Effect.mapError(FileFailed.of))
  if (kind === undefined)
    return yield* new InputInvalid({ message: `${flags.target}: no such file or directory` })
  const dir = kind === "dir"
  const html = dir
    ? runHtml(yield* readRunDir(path, flags.target))
    : planHtml(yield* readPlan(io.cwd, flags.target))
  const out = Option.getOrElse(flags.out, () =>
    dir ? resolve(path, "report.html") : path.replace(/(\.json)?$/i, ".html")
  )
  if (out === "-") return io.out(html)
  yield* Files.writeAtomic(resolve(io.cwd, out), html).pipe(Effect.mapError(FileFailed.of))
  io.out(`report: ${resolve(io.cwd, out)}\n`)
})
