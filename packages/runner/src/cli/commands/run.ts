/** `runner run <pipeline.yaml | plan.json>`: gates, then executes; prints actual vs projected. */
import { Argument, Command, Flag } from "effect/cli"
import * as F from "../Flags.ts"
import { lazy } from "../Lazy.ts"

/** The flags `run` and `merge` share. */
export const runFlags = {
  pipeline: Argument.String("pipeline").pipe(
    Argument.withDescription("the pipeline file (pipeline.yaml), or a plan saved by `runner plan --out`")
  ),
  input: F.input,
  format: F.format,
  baseUrl: F.baseUrl,
  providerKind: F.providerKind,
  echo: Flag.Boolean("echo").pipe(
    Flag.withDescription("answer every request locally (no key, no network): try a pipeline for free"),
    Flag.withDefault(false)
  ),
  maxCost: F.maxCost,
  deadline: F.deadline,
  noCache: F.noCache,
  offline: Flag.Boolean("offline").pipe(
    Flag.withDescription("send nothing: every request must be in the cache (a miss exits 2)"),
    Flag.withDefault(false)
  ),
  concurrency: Flag.String("concurrency").pipe(
    Flag.withMetavar("N"),
    Flag.withDescription("requests in flight at most (default limits.concurrency, else 8)"),
    Flag.optional
  ),
  enforceBudget: Flag.Literals("enforce-budget", ["runner", "provider"]).pipe(
    Flag.withDescription(
      "provider: also cap the budget at the provider, with a key minted for the run (needs OPENROUTER_MANAGEMENT_KEY; default budget.enforce)"
    ),
    Flag.optional
  ),
  outDir: F.outDir,
  store: F.store,
  settle: Flag.Literals("settle", ["auto", "on", "off"]).pipe(
    Flag.withDescription(
      "settle paid answers against OpenRouter's bill (/generation) at the run's end: auto (at openrouter.ai), on (any OpenRouter-kind endpoint), off (`runner reconcile` can later)"
    ),
    Flag.withDefault("auto")
  ),
  settleTimeout: F.settleTimeout,
  jsonFile: F.jsonFile
}

export const run = Command.make(
  "run",
  {
    ...runFlags,
    untilDone: Flag.Boolean("until-done").pipe(
      Flag.withDescription(
        "when the daily free quota stops the run, wait for its reset (00:00 UTC plus a minute) and go on, until the job is done"
      ),
      Flag.withDefault(false)
    ),
    shard: Flag.String("shard").pipe(
      Flag.withMetavar("i/n"),
      Flag.withDescription(
        "run shard i of n: the items index % n == i - 1 of each fan-out; steps that read every item wait for `runner merge`"
      ),
      Flag.optional
    )
  },
  (flags) =>
    lazy(
      () => import("../handlers/run.ts"),
      (m) => m.handle(flags)
    )
).pipe(
  Command.withDescription(
    "plan, apply the gates, then execute within the budget; prints actual vs projected and records under --out-dir"
  )
)
