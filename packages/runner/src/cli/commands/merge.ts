/** `runner merge <pipeline.yaml> --out-dir DIR`: joins the shard runs under DIR into one run. */
import { Command } from "effect/cli"
import * as Option from "effect/Option"
import { lazy } from "../Lazy.ts"
import { runFlags } from "./run.ts"

export const merge = Command.make("merge", runFlags, (flags) =>
  lazy(
    () => import("../handlers/run.ts"),
    (m) => m.handle({ ...flags, shard: Option.none(), untilDone: false }, { merge: true })
  )
).pipe(
  Command.withDescription(
    "join the shard runs (`runner run --shard i/n`) found under --out-dir: checks every item is there exactly once, sends no fan-out request, runs the steps that read every item, writes one run"
  )
)
