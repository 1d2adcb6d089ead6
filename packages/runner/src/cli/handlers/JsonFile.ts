/** `--json-file FILE`: a command's JSON document written beside what it prints (a CI step reads this invocation's figures, never an earlier one's). */
import { resolve } from "node:path"
import * as StateDir from "@tollgate/core/StateDir"
import * as Option from "effect/Option"
import type { IoShape } from "../Io.ts"

export const writeJsonFile = (io: IoShape, file: Option.Option<string>, value: unknown): void => {
  if (Option.isSome(file))
    StateDir.writeAtomicSync(resolve(io.cwd, file.value), `${JSON.stringify(value, null, 2)}\n`)
}
