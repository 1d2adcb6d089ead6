/** The pipeline's `outputs`, rendered from the finished steps; one that fails is null with an event. */
import type { Pipeline } from "../dsl/Pipeline.ts"
import { render } from "../dsl/Templates.ts"
import type { OnEvent } from "./Events.ts"
import type { RunContext } from "./RunContext.ts"

export const renderOutputs = (
  pipeline: Pipeline,
  run: Pick<RunContext, "planned" | "stepOutputs">,
  onEvent: OnEvent
): Record<string, unknown> => {
  const scope = { inputs: run.planned.validated.inputs.values, steps: run.stepOutputs }
  const outputs: Record<string, unknown> = {}
  for (const [name, template] of Object.entries(pipeline.outputs)) {
    try {
      outputs[name] = render(template, scope)
    } catch (e) {
      outputs[name] = null
      onEvent({ type: "output-error", output: name, message: (e as Error).message })
    }
  }
  return outputs
}
