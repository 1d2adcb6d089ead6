/** `runner plan <pipeline.yaml>`: the dry run. Exit 0 within limits, 3 over one, 2 invalid. */
import { resolve } from "node:path"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { FileFailed, InputInvalid } from "../../Errors.ts"
import { mainLayer } from "../../MainLayer.ts"
import { planPipelineOrSaved } from "../../plan/PlanFile.ts"
import { type PlanJson, planJson } from "../../plan/PlanJson.ts"
import { PlanForDiff, readPlanForDiff, writeSavedPlan } from "../../plan/SavedPlan.ts"
import { keyVariablesOf } from "../../providers/KeyRoute.ts"
import { diffJson } from "../../report/DiffReport.ts"
import { renderPlanMarkdown, renderPlanTable } from "../../report/PlanReport.ts"
import { edgeSettings } from "../EdgeSettings.ts"
import { CommandExit } from "../Failures.ts"
import type { Format } from "../Flags.ts"
import { Io, type IoShape } from "../Io.ts"
import { diffOf, policyExit, showDiff, verdictFor } from "./diff.ts"
import { writeJsonFile } from "./JsonFile.ts"
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
  readonly deadline: Option.Option<string>
  readonly noCache: boolean
  readonly outDir: Option.Option<string>
  readonly store: Option.Option<string>
  readonly compare: Option.Option<string>
  readonly failOnIncrease: Option.Option<string>
  readonly failOn: "expected" | "max"
  readonly link: Option.Option<string>
  readonly jsonFile: Option.Option<string>
}

/** `--compare`: the base plan read, and the policy, before anything is planned. */
const comparison = Effect.fn("runner plan --compare")(function* (io: IoShape, flags: PlanFlags) {
  const policy = yield* F.parseFailOn(flags.failOnIncrease, flags.failOn)
  if (Option.isNone(flags.compare)) {
    if (policy !== undefined)
      return yield* new InputInvalid({
        message: "--fail-on-increase needs --compare BASE.json (or runner diff)"
      })
    return undefined
  }
  return { file: flags.compare.value, base: yield* readPlanForDiff(io.cwd, flags.compare.value), policy }
})

export const handle = Effect.fn("runner plan")(function* (flags: PlanFlags) {
  const io = yield* Io
  const settings = yield* edgeSettings
  const { inputs, maxCostUsd, store, baseUrl, deadline } = yield* F.parsePlanFlags(flags, settings)
  const compare = yield* comparison(io, flags)
  const { planned, inputs: planInputs } = yield* planPipelineOrSaved(flags.pipeline, {
    cwd: io.cwd,
    keys: keyVariablesOf(io.env),
    inputs,
    baseUrl,
    providerKind: Option.getOrUndefined(flags.providerKind),
    maxCostUsd,
    deadline,
    noCache: flags.noCache,
    runsDir: yield* F.parseOutDir(flags.outDir)
  }).pipe(Effect.provide(mainLayer({ settings, store })))
  for (const w of planned.warnings) io.err(`warning: ${w}\n`)
  const json = planJson(planned)
  if (Option.isSome(flags.out))
    yield* writeSavedPlan(resolve(io.cwd, flags.out.value), json, planned.validated.path, planInputs).pipe(
      Effect.mapError(FileFailed.of)
    )
  if (compare === undefined) {
    yield* writeJsonFile(io, flags.jsonFile, json)
    printPlan(io, json, flags.format)
    if (!json.ok) return yield* new CommandExit({ code: 3 })
    return
  }
  const d = yield* diffOf(compare.base, Schema.decodeUnknownSync(PlanForDiff)(json), compare.file)
  const verdict = verdictFor(d, compare.policy)
  const withDiff = { ...json, diff: diffJson(d, verdict) }
  yield* writeJsonFile(io, flags.jsonFile, withDiff)
  if (flags.format === "json") io.out(`${JSON.stringify(withDiff, null, 2)}\n`)
  const link = Option.getOrUndefined(flags.link) ?? (yield* edgeSettings).actionsRunUrl
  // table: the plan, then the diff; markdown: the PR comment (the plan folded under it)
  if (flags.format === "table") printPlan(io, json, "table")
  const exit = flags.format === "json" ? policyExit(verdict) : showDiff(io, d, verdict, flags.format, link)
  if (flags.format === "markdown")
    io.out(`\n<details><summary>the plan</summary>\n\n${renderPlanMarkdown(json)}\n</details>\n`)
  if (!json.ok) return yield* new CommandExit({ code: 3 })
  if (exit !== undefined) return yield* exit
})
