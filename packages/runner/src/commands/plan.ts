/** `runner plan <pipeline.yaml>`: the dry run. Exit 0 within limits, 3 over one, 2 invalid. */
import { writeFileSync } from "node:fs"
import { resolve } from "node:path"
import { loadCatalog } from "../CatalogIo.ts"
import type { InputOverride } from "../Inputs.ts"
import type { Io } from "../Io.ts"
import { planJson } from "../Plan.ts"
import { renderPlanMarkdown, renderPlanTable } from "../Report.ts"
import { planOptionsOf, planOrExit } from "./common.ts"
import { reportInvalid } from "./validate.ts"

export interface PlanCommandOptions {
  readonly file: string
  readonly inputs: ReadonlyArray<InputOverride>
  readonly format: "table" | "json" | "markdown"
  readonly out: string | undefined
  readonly baseUrl: string | undefined
  readonly maxCostUsd: number | undefined
  readonly noCache: boolean
  readonly store: string | undefined
}

export const plan = async (io: Io, opts: PlanCommandOptions): Promise<number> => {
  const catalog = await loadCatalog(io)
  const result = await planOrExit(opts.file, planOptionsOf(io, catalog, opts))
  if (!result.ok) return reportInvalid(io, result.invalid)
  const json = planJson(result.planned)
  if (opts.out !== undefined)
    writeFileSync(
      resolve(io.cwd, opts.out),
      `${JSON.stringify({ ...json, saved_plan: { pipeline_path: result.planned.validated.path, inputs: opts.inputs } }, null, 2)}\n`
    )
  if (opts.format === "json") io.out(`${JSON.stringify(json, null, 2)}\n`)
  else if (opts.format === "markdown") io.out(renderPlanMarkdown(json))
  else io.out(renderPlanTable(json))
  return json.ok ? 0 : 3
}
