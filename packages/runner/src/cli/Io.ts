/**
 * What a command may touch of its process: output streams, environment, working dir, terminal,
 * and the user's request to stop. `layerProcess` is the real process (chosen in `bin.ts`);
 * tests provide their own.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

export interface IoShape {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
  readonly env: NodeJS.ProcessEnv
  readonly cwd: string
  /** stdout is a terminal (caret snippets under diagnostics). */
  readonly stdoutIsTTY: boolean
  /** stderr is a terminal (the live progress line goes there). */
  readonly stderrIsTTY: boolean
  /** stderr's width, for cutting the progress line; undefined when unknown. */
  readonly columns: number | undefined
  /** While awaited: completes on the first SIGINT/SIGTERM (a second one then quits at once). */
  readonly interrupted: Effect.Effect<void>
}

export class Io extends Context.Service<Io, IoShape>()("@tollgate/runner/cli/Io") {
  /** The real process. Signal handlers are installed only while something waits on `interrupted`. */
  static readonly layerProcess = Layer.sync(Io, () => ({
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    // read at each use: a terminal resized during a run gets lines that fit it
    get columns() {
      return process.stderr.columns
    },
    interrupted: Effect.callback<void>((resume) => {
      let signals = 0
      const onSignal = () => {
        // a second signal: stop waiting for requests in flight
        if (++signals > 1) process.exit(130)
        resume(Effect.void)
      }
      process.on("SIGINT", onSignal)
      process.on("SIGTERM", onSignal)
      return Effect.sync(() => {
        process.off("SIGINT", onSignal)
        process.off("SIGTERM", onSignal)
      })
    })
  }))
}
