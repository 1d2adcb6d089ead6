/** `runner show <run-dir> [step] [--item N]`: prints a run's outputs as text, JSON or JSON lines. */
import { resolve } from "node:path"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { InputInvalid } from "../../Errors.ts"
import { itemOutputs, renderJsonl, renderOne, renderRun, renderStep } from "../../report/ShowOutputs.ts"
import { readRunDir, stepIdsOf } from "../../run/RunDir.ts"
import { Io } from "../Io.ts"

export interface ShowFlags {
  readonly dir: string
  readonly step: Option.Option<string>
  readonly item: Option.Option<number>
  readonly format: "text" | "json" | "jsonl"
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`

export const handle = Effect.fn("runner show")(function* (flags: ShowFlags) {
  const io = yield* Io
  const run = yield* readRunDir(resolve(io.cwd, flags.dir), flags.dir)
  const ids = stepIdsOf(run)
  const outputsOf = (id: string) => itemOutputs(id, run.records.get(id) ?? [])
  if (Option.isNone(flags.step)) {
    if (Option.isSome(flags.item))
      return yield* new InputInvalid({
        message: "--item needs a step: runner show <run-dir> <step> --item N"
      })
    const named = run.summary?.outputs ?? {}
    if (flags.format === "jsonl") return io.out(renderJsonl(ids.flatMap(outputsOf)))
    if (flags.format === "json")
      return io.out(json({ outputs: named, steps: Object.fromEntries(ids.map((id) => [id, outputsOf(id)])) }))
    return io.out(
      renderRun(
        flags.dir,
        named,
        ids.map((id) => ({ id, outputs: outputsOf(id) }))
      )
    )
  }
  const step = flags.step.value
  if (!ids.includes(step))
    return yield* new InputInvalid({
      message: `no step "${step}" in this run; its steps: ${ids.join(", ") || "none yet"}`
    })
  const outputs = outputsOf(step)
  if (Option.isSome(flags.item)) {
    const item = flags.item.value
    const one = outputs.find((o) => o.item === item)
    if (one === undefined)
      return yield* new InputInvalid({
        message: `step "${step}" has no output for item ${item} (${outputs.length} outputs, items ${outputs[0]?.item ?? "-"}..${outputs.at(-1)?.item ?? "-"})`
      })
    return io.out(
      flags.format === "text" ? renderOne(one) : flags.format === "json" ? json(one) : renderJsonl([one])
    )
  }
  return io.out(
    flags.format === "jsonl"
      ? renderJsonl(outputs)
      : flags.format === "json"
        ? json(outputs)
        : renderStep(outputs)
  )
})
