/** Pipelines and projection inputs for the runner's unit tests, from YAML text. */

import { CatalogStore } from "@tollgate/core"
import { Policy } from "@tollgate/pricing"
import { accountFacts } from "@tollgate/runner/account/AccountFacts"
import { declaredOf } from "@tollgate/runner/account/AccountPolicy"
import { loadText } from "@tollgate/runner/dsl/Load"
import { resolve } from "@tollgate/runner/dsl/Pipeline"
import { decodePipelineSpec } from "@tollgate/runner/dsl/PipelineSpec"
import { emptyIndex } from "@tollgate/runner/plan/Calibration"
import type { ProjectInput } from "@tollgate/runner/plan/Project"
import { nothingDiscovered } from "@tollgate/runner/providers/ProviderAccount"
import { Exit } from "effect"

export const catalog = CatalogStore.bundled()

/** A pipeline from YAML that must load and decode. */
export const pipelineOf = (yaml: string) => {
  const { loaded } = loadText(yaml, "p.yaml")
  const decoded = decodePipelineSpec(loaded!.value)
  if (Exit.isFailure(decoded)) throw new Error("test yaml does not decode")
  return resolve(decoded.value)
}

/** What `project` is given for a pipeline: its inputs' defaults, the bundled catalog, an empty cache and ledger. */
export const projectInput = (yaml: string, over: Partial<ProjectInput> = {}): ProjectInput => {
  const pipeline = pipelineOf(yaml)
  return {
    pipeline,
    inputs: Object.fromEntries(Object.entries(pipeline.inputs).map(([k, v]) => [k, v.default])),
    catalog,
    policy: Policy.defaultPolicy,
    fingerprint: "fp",
    freeUsedToday: 0,
    cacheKey: (body) => JSON.stringify(body.messages),
    cached: new Set(),
    calibration: emptyIndex,
    now: new Date("2026-11-23T12:00:00Z"),
    account: accountFacts(
      declaredOf(pipeline),
      nothingDiscovered,
      Policy.defaultPolicy.free,
      new Date("2026-11-23T12:00:00Z")
    ),
    ...over
  }
}
