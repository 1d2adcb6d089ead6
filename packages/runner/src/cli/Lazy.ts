/** A command's handler, loaded when the command runs: `--help` and the other commands never load it. */
import * as Effect from "effect/Effect"

export const lazy = <M, A, E, R>(load: () => Promise<M>, use: (m: M) => Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.promise(load), use)
