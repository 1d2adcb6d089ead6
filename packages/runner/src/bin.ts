#!/usr/bin/env node
/**
 * The `runner` executable: the only file that touches the real process. It wires the platform's
 * CLI services and the process `Io`, runs the command line once, and exits with its code. It
 * does not use `NodeRuntime.runMain`: a first SIGINT must let requests in flight settle and be
 * recorded (the run stops sending), not interrupt them; `Io.layerProcess` owns the signals.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { runCli } from "./cli/Cli.ts"
import * as HeapBound from "./cli/HeapBound.ts"
import { Io } from "./cli/Io.ts"

HeapBound.start()

const code = await Effect.runPromise(
  runCli(process.argv.slice(2)).pipe(
    Effect.provide(Layer.mergeAll(NodeServices.layer, Io.layerProcess)),
    Effect.scoped
  )
)
process.exitCode = code
