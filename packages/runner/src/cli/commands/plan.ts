/** `runner plan <pipeline.yaml>`: the dry run. Exit 0 within limits, 3 over one, 2 invalid. */
import { Command, Flag } from "effect/cli"
import * as F from "../Flags.ts"
import { lazy } from "../Lazy.ts"

export const plan = Command.make(
  "plan",
  {
    pipeline: F.pipeline,
    input: F.input,
    format: F.format,
    out: Flag.String("out").pipe(
      Flag.withMetavar("FILE"),
      Flag.withDescription(
        "also save the plan to this file; `runner run` of it refuses to run if anything changed"
      ),
      Flag.optional
    ),
    baseUrl: F.baseUrl,
    providerKind: F.providerKind,
    maxCost: F.maxCost,
    deadline: F.deadline,
    noCache: F.noCache,
    outDir: F.outDir,
    store: F.store,
    compare: Flag.String("compare").pipe(
      Flag.withMetavar("BASE.json"),
      Flag.withDescription(
        "compare with a plan made before the change (runner plan --out): per step and in total, before → after, and why"
      ),
      Flag.optional
    ),
    ...F.compareFlags
  },
  (flags) =>
    lazy(
      () => import("../handlers/plan.ts"),
      (m) => m.handle(flags)
    )
).pipe(
  Command.withDescription(
    "the dry run: requests, tokens, cost (expected and max), free quota, least time, budget verdict; sends nothing"
  )
)
