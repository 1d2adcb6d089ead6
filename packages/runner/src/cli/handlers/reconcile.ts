/** `runner reconcile <run-dir>`: settles a run's paid answers against the provider's bill, and reports the drift. */
import { resolve } from "node:path"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { DEFAULT_API_KEY_ENV } from "../../dsl/Pipeline.ts"
import { keyVariablesOf } from "../../providers/KeyRoute.ts"
import { Providers } from "../../providers/Providers.ts"
import { reconcileJson, renderReconcile, renderReconcileMarkdown } from "../../report/ReconcileReport.ts"
import { reconcile } from "../../run/Reconcile.ts"
import { SETTLE_TIMEOUT_MS } from "../../run/SettleWithProvider.ts"
import { edgeSettings } from "../EdgeSettings.ts"
import { CommandExit } from "../Failures.ts"
import type { Format } from "../Flags.ts"
import { Io } from "../Io.ts"
import * as F from "./Parse.ts"

export interface ReconcileFlags {
  readonly dir: string
  readonly baseUrl: Option.Option<string>
  readonly apiKeyEnv: Option.Option<string>
  readonly settleTimeout: Option.Option<string>
  readonly format: Format
}

export const handle = Effect.fn("runner reconcile")(function* (flags: ReconcileFlags) {
  const io = yield* Io
  const baseUrl = yield* F.parseBaseUrl(flags.baseUrl, yield* edgeSettings)
  const timeoutMs = (yield* F.parseDurationFlag("settle-timeout", flags.settleTimeout)) ?? SETTLE_TIMEOUT_MS
  const r = yield* reconcile({
    dir: resolve(io.cwd, flags.dir),
    display: flags.dir,
    keys: keyVariablesOf(io.env),
    apiKeyEnv: Option.getOrElse(flags.apiKeyEnv, () => DEFAULT_API_KEY_ENV),
    baseUrl,
    timeoutMs
  }).pipe(Effect.provide(Providers.layerAuto))
  if (flags.format === "json") io.out(`${JSON.stringify(reconcileJson(flags.dir, r), null, 2)}\n`)
  else io.out(flags.format === "markdown" ? renderReconcileMarkdown(r) : renderReconcile(r))
  // the provider refused to say (a key that may not read bills): the run is not settled
  if (r.failures.length > 0 && r.drift.settled < r.drift.requests)
    return yield* new CommandExit({
      code: 1,
      message: "some bills could not be read: the run is not fully settled"
    })
})
