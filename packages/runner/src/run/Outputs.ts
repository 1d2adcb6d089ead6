/** The pipeline's `outputs`, rendered from the finished steps; one that fails is null with an event. */
import type { Pipeline } from "../dsl/Pipeline.ts"
import { render } from "../dsl/Templates.ts"
import type { Planned } from "../plan/Plan.ts"
import type { OnEvent } from "./Events.ts"
import type { StepOutputs } from "./RunContext.ts"

export const renderOutputs = (
  pipeline: Pipeline,
  planned: Planned,
  steps: StepOutputs,
  onEvent: OnEvent
): Record<string, unknown> => {
  const scope = { inputs: planned.validated.inputs.values, steps }
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
