/** `runner validate <pipeline.yaml>`: exit 0 when well formed, 2 with every diagnostic otherwise. */
import { loadCatalog } from "../CatalogIo.ts"
import { render } from "../Diagnostics.ts"
import type { InputOverride } from "../Inputs.ts"
import type { Io } from "../Io.ts"
import { type ValidateResult, validateFile } from "../Validate.ts"

/** Prints diagnostics (with caret snippets on a terminal); returns the exit code for a failed validation. */
export const reportInvalid = (io: Io, result: Extract<ValidateResult, { ok: false }>): number => {
  io.err(render(result.diagnostics, io.isTTY ? result.sources : undefined))
  const n = result.diagnostics.length
  io.err(`${n} problem${n === 1 ? "" : "s"}; nothing was sent\n`)
  return 2
}

export const validate = async (
  io: Io,
  file: string,
  inputs: ReadonlyArray<InputOverride>
): Promise<number> => {
  const catalog = await loadCatalog(io)
  const result = validateFile(file, { cwd: io.cwd, catalog, inputs })
  if (!result.ok) return reportInvalid(io, result)
  const p = result.value.pipeline
  io.out(`${result.value.display}: ok (${p.steps.length} step${p.steps.length === 1 ? "" : "s"})\n`)
  return 0
}
