/**
 * Files read or written once per command (pipelines, saved plans, reports, state copies),
 * through Effect's `FileSystem`: the CLI and the library provide Node's, a test may provide its
 * own. A run's per-request writes, which must be in the kernel before the run goes on, are
 * `SyncFiles.ts`.
 */
import { dirname } from "node:path"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import type { PlatformError } from "effect/PlatformError"
import * as Random from "effect/Random"

/** The file (or a folder on its path) is not there. */
export const isNotFound = (e: PlatformError): boolean => e.reason._tag === "NotFound"

/**
 * Writes `text` to `path` so readers see the old file or the new one, never half of either: a
 * uniquely named temp file in the same dir, then rename. Creates the dir when it is missing.
 */
export const writeAtomic = Effect.fnUntraced(function* (path: string, text: string | Uint8Array) {
  const fs = yield* FileSystem.FileSystem
  const tmp = `${path}.${(yield* Random.next).toString(36).slice(2)}.tmp`
  const write = typeof text === "string" ? fs.writeFileString(tmp, text) : fs.writeFile(tmp, text)
  yield* write.pipe(
    Effect.catchIf(isNotFound, () =>
      Effect.andThen(fs.makeDirectory(dirname(path), { recursive: true }), write)
    )
  )
  // a rename that fails leaves no temp file behind
  yield* fs.rename(tmp, path).pipe(Effect.tapError(() => Effect.ignore(fs.remove(tmp))))
})

/** The file's text, or `undefined` when there is no such file. */
export const readTextIfAny = Effect.fnUntraced(function* (path: string) {
  const fs = yield* FileSystem.FileSystem
  return yield* fs.readFileString(path).pipe(Effect.catchIf(isNotFound, () => Effect.succeed(undefined)))
})

/** What is at `path`: a directory, a file (or other entry), or nothing. */
export const kindOf = Effect.fnUntraced(function* (path: string) {
  const fs = yield* FileSystem.FileSystem
  return yield* fs.stat(path).pipe(
    Effect.map((info) => (info.type === "Directory" ? ("dir" as const) : ("file" as const))),
    Effect.catchIf(isNotFound, () => Effect.succeed(undefined))
  )
})
