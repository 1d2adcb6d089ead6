/** `runner report <run-dir | plan.json>`: writes the HTML page of a run or a plan, and says where. */
import { statSync } from "node:fs"
import { resolve } from "node:path"
import * as StateDir from "@tollgate/core/StateDir"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { InputInvalid } from "../../Errors.ts"
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

const isDir = (path: string): boolean | undefined => {
  try {
    return statSync(path).isDirectory()
  } catch {
    return undefined
  }
}

export const handle = Effect.fnUntraced(function* (flags: ReportFlags) {
  const io = yield* Io
  const path = resolve(io.cwd, flags.target)
  const dir = isDir(path)
  if (dir === undefined)
    return yield* new InputInvalid({ message: `${flags.target}: no such file or directory` })
  const html = dir
    ? runHtml(yield* readRunDir(path, flags.target))
    : planHtml(yield* readPlan(io.cwd, flags.target))
  const out = Option.getOrElse(flags.out, () =>
    dir ? resolve(path, "report.html") : path.replace(/(\.json)?$/i, ".html")
  )
  if (out === "-") return io.out(html)
  StateDir.writeAtomicSync(resolve(io.cwd, out), html)
  io.out(`report: ${resolve(io.cwd, out)}\n`)
})
