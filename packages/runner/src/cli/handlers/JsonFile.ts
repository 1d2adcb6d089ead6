/** `--json-file FILE`: a command's JSON document written beside what it prints (a CI step reads this invocation's figures, never an earlier one's). */
import { resolve } from "node:path"
import * as Files from "@tollgate/core/Files"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { FileFailed } from "../../Errors.ts"
import type { IoShape } from "../Io.ts"

export const writeJsonFile = (io: IoShape, file: Option.Option<string>, value: unknown) =>
  Option.isNone(file)
    ? Effect.void
    : Files.writeAtomic(resolve(io.cwd, file.value), `${JSON.stringify(value, null, 2)}\n`).pipe(
        Effect.mapError(FileFailed.of)
      )
