/**
 * Semantic checks after the schema, one pure function per rule (`rules/`): each returns its
 * diagnostics; together they are every problem the schema cannot see.
 */
import type * as Catalog from "@tollgate/pricing/Catalog"
import type { Diagnostic } from "./Diagnostics.ts"
import type { InputRows } from "./Inputs.ts"
import type { Loaded } from "./Load.ts"
import type { PipelineSpec, StepSpec } from "./Pipeline.ts"
import { dataFields } from "./rules/DataFields.ts"
import { cycles, needs } from "./rules/Dependencies.ts"
import { forEachIsList } from "./rules/ForEach.ts"
import { githubExpressions } from "./rules/Habits.ts"
import { limitedModels, maxTokens, models } from "./rules/Models.ts"
import { outputSchema } from "./rules/OutputSchema.ts"
import { deadline, overflow } from "./rules/Overflow.ts"
import { outputReferences, stepReferences } from "./rules/References.ts"
import type { Rule, RuleContext } from "./rules/Rule.ts"
import { apiKeyEnv, baseUrl, headers, rateWindow, timeouts, vendorFields } from "./rules/Settings.ts"
import { duplicateSteps, forEachKeys, promptOrMessages } from "./rules/Steps.ts"

export const RULES: ReadonlyArray<Rule> = [
  duplicateSteps,
  models,
  limitedModels,
  maxTokens,
  overflow,
  deadline,
  promptOrMessages,
  forEachKeys,
  outputSchema,
  stepReferences,
  outputReferences,
  forEachIsList,
  needs,
  cycles,
  githubExpressions,
  dataFields,
  timeouts,
  rateWindow,
  baseUrl,
  apiKeyEnv,
  headers,
  vendorFields
]

export const checkSemantics = (
  loaded: Loaded,
  spec: PipelineSpec,
  catalog: Catalog.Catalog,
  inputValues: Readonly<Record<string, unknown>> | undefined,
  inputRows?: Readonly<Record<string, InputRows>>
): Diagnostic[] => {
  const byId = new Map<string, StepSpec>()
  for (const s of spec.steps) if (!byId.has(s.id)) byId.set(s.id, s)
  const ctx: RuleContext = { loaded, spec, catalog, inputValues, inputRows, byId }
  return RULES.flatMap((rule) => rule(ctx))
}
