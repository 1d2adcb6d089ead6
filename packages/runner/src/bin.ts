#!/usr/bin/env node
/**
 * The `runner` executable: the process's edge. It wires the platform's services (Node's file
 * system among them) and the process `Io` (`cli/Io.ts`: the streams, the environment, the
 * signals), keeps the heap near what a run holds (`cli/YoungGeneration.ts`, `cli/HeapBound.ts`), runs the command line
 * once, and exits with its code. Nothing further in reads the process. It
 * does not use `NodeRuntime.runMain`: a first SIGINT must let requests in flight settle and be
 * recorded (the run stops sending), not interrupt them; `Io.layerProcess` owns the signals.
 */
// first: `runner run` may start this process again with a smaller young generation, before anything else runs
import "./cli/YoungGeneration.ts"
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
