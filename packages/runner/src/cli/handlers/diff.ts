/** `runner diff <base.json> <head.json>`: what a change does to the bill; `--fail-on-increase` is the policy. */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { InputInvalid } from "../../Errors.ts"
import {
  describePolicy,
  diffPlans,
  type PlanDiff,
  type Policy,
  type Verdict,
  verdictOf
} from "../../plan/PlanDiff.ts"
import { type PlanForDiff, readPlanForDiff } from "../../plan/SavedPlan.ts"
import { diffJson, renderDiffMarkdown, renderDiffTable } from "../../report/DiffReport.ts"
import { money } from "../../report/Format.ts"
import { edgeSettings } from "../EdgeSettings.ts"
import { CommandExit } from "../Failures.ts"
import type { Format } from "../Flags.ts"
import { Io, type IoShape } from "../Io.ts"
import { writeJsonFile } from "./JsonFile.ts"
import * as F from "./Parse.ts"

/** The diff of two plans, or `InputInvalid` when they are not of one pipeline. */
export const diffOf = (base: PlanForDiff, head: PlanForDiff, baseFile: string) => {
  const d = diffPlans(base, head)
  return typeof d === "string"
    ? Effect.fail(new InputInvalid({ message: `${baseFile}: ${d}` }))
    : Effect.succeed(d)
}

/** The exit the policy asks for: 3 over it, naming the steps that pushed the cost up. */
export const policyExit = (v: Verdict | undefined): CommandExit | undefined => {
  if (v === undefined || v.ok) return undefined
  const steps = v.culprits.map((c) => `${c.id} +${money(c.usd)}`).join(", ")
  return new CommandExit({
    code: 3,
    message: `the cost goes up more than the policy allows (${describePolicy(v.policy)})${steps !== "" ? `: ${steps}` : ""}`
  })
}

/** The policy's verdict on a diff, when there is a policy. */
export const verdictFor = (d: PlanDiff, policy: Policy | undefined): Verdict | undefined =>
  policy === undefined ? undefined : verdictOf(d, policy)

/** Prints the diff with its verdict; returns the exit the policy asks for, if any. */
export const showDiff = (
  io: IoShape,
  d: PlanDiff,
  v: Verdict | undefined,
  format: Format,
  link: string | undefined
): CommandExit | undefined => {
  io.out(
    format === "json"
      ? `${JSON.stringify(diffJson(d, v), null, 2)}\n`
      : format === "markdown"
        ? renderDiffMarkdown(d, v, link)
        : renderDiffTable(d, v)
  )
  return policyExit(v)
}

export interface DiffFlags {
  readonly base: string
  readonly head: string
  readonly format: Format
  readonly failOnIncrease: Option.Option<string>
  readonly failOn: "expected" | "max"
  readonly link: Option.Option<string>
  readonly jsonFile: Option.Option<string>
}

export const handle = Effect.fn("runner diff")(function* (flags: DiffFlags) {
  const io = yield* Io
  const policy = yield* F.parseFailOn(flags.failOnIncrease, flags.failOn)
  const base = yield* readPlanForDiff(io.cwd, flags.base)
  const head = yield* readPlanForDiff(io.cwd, flags.head)
  const d = yield* diffOf(base, head, flags.base)
  const v = verdictFor(d, policy)
  yield* writeJsonFile(io, flags.jsonFile, diffJson(d, v))
  const exit = showDiff(
    io,
    d,
    v,
    flags.format,
    Option.getOrUndefined(flags.link) ?? (yield* edgeSettings).actionsRunUrl
  )
  if (exit !== undefined) return yield* exit
})
