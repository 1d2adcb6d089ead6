/** `runner plan <pipeline.yaml>`: the dry run. Exit 0 within limits, 3 over one, 2 invalid. */
import { resolve } from "node:path"
import * as StateDir from "@tollgate/pricing/StateDir"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { mainLayer } from "../../MainLayer.ts"
import { planFile } from "../../plan/Plan.ts"
import { type PlanJson, planJson } from "../../plan/PlanJson.ts"
import { renderPlanMarkdown, renderPlanTable } from "../../report/PlanReport.ts"
import { CommandExit } from "../Failures.ts"
import type { Format } from "../Flags.ts"
import { Io, type IoShape } from "../Io.ts"
import * as F from "./Parse.ts"

/** Prints a plan in the chosen format. */
export const printPlan = (io: IoShape, plan: PlanJson, format: "table" | "json" | "markdown") =>
  io.out(
    format === "json"
      ? `${JSON.stringify(plan, null, 2)}\n`
      : format === "markdown"
        ? renderPlanMarkdown(plan)
        : renderPlanTable(plan)
  )

export interface PlanFlags {
  readonly pipeline: string
  readonly input: ReadonlyArray<string>
  readonly format: Format
  readonly out: Option.Option<string>
  readonly baseUrl: Option.Option<string>
  readonly providerKind: Option.Option<"openrouter" | "openai">
  readonly maxCost: Option.Option<string>
  readonly noCache: boolean
  readonly outDir: Option.Option<string>
  readonly store: Option.Option<string>
}

export const handle = Effect.fnUntraced(function* (flags: PlanFlags) {
  const io = yield* Io
  const { inputs, maxCostUsd, store, baseUrl } = yield* F.parsePlanFlags(flags, io.env)
  const planned = yield* planFile(flags.pipeline, {
    cwd: io.cwd,
    env: io.env,
    inputs,
    baseUrl,
    providerKind: Option.getOrUndefined(flags.providerKind),
    maxCostUsd,
    noCache: flags.noCache,
    runsDir: yield* F.parseOutDir(flags.outDir)
  }).pipe(Effect.provide(mainLayer({ env: io.env, store })))
  for (const w of planned.warnings) io.err(`warning: ${w}\n`)
  const json = planJson(planned)
  if (Option.isSome(flags.out))
    StateDir.writeAtomicSync(
      resolve(io.cwd, flags.out.value),
      `${JSON.stringify({ ...json, saved_plan: { pipeline_path: planned.validated.path, inputs } }, null, 2)}\n`
    )
  printPlan(io, json, flags.format)
  if (!json.ok) return yield* new CommandExit({ code: 3 })
})
