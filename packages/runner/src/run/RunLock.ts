/**
 * One run at a time per pipeline identity (same pipeline, inputs, data, endpoint) in an out-dir:
 * a second `runner run` of it (another CI job, another terminal) refuses instead of buying every
 * answer again. A lock left by a killed run is taken over (its holder's pid is gone).
 */
import { join } from "node:path"
import { tryLock, unlock } from "@tollgate/core/FileLock"
import { sha256 } from "@tollgate/core/Hash"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import { isPlatformError } from "effect/PlatformError"
import { InputInvalid, RunBusy } from "../Errors.ts"
import { RecordDamage } from "./Spending.ts"

/** One lock per identity (a shard's and a merge's identity extend the whole run's). */
export const lockPathOf = (outDir: string, identity: string): string =>
  join(outDir, `.${sha256(identity).slice(0, 16)}.lock`)

/**
 * The run records cannot be written under the out-dir (`display`, as the user named it), or an
 * earlier process's records are damaged so their spending cannot be read back.
 */
export const recordsUnwritable = (display: string, e: unknown): InputInvalid =>
  e instanceof RecordDamage
    ? new InputInvalid({ message: `damaged run records: ${e.message}; nothing was sent` })
    : new InputInvalid({
        message: `cannot write run records under ${display}: ${reasonOf(e)}; choose another --out-dir; nothing was sent`
      })

/** An error's errno code (`EACCES`), or the file system's reason (`PermissionDenied`), or its message. */
const reasonOf = (e: unknown): string =>
  isPlatformError(e) ? e.reason._tag : ((e as NodeJS.ErrnoException).code ?? (e as Error).message)

/** Holds the run's lock for the enclosing scope; fails with `RunBusy` when a running process holds it. */
export const holdRunLock = (outDir: string, identity: string, display: string) =>
  Effect.acquireRelease(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      yield* fs
        .makeDirectory(outDir, { recursive: true })
        .pipe(Effect.mapError((e) => recordsUnwritable(display, e)))
      const now = yield* Clock.currentTimeMillis
      const path = lockPathOf(outDir, identity)
      const taken = tryLock(path, now)
      if (taken.ok) return path
      return yield* new RunBusy({
        message: `another runner (pid ${taken.holder}) is running this pipeline with the same inputs into ${display}; wait for it to finish (a later run resumes it), or stop it; nothing was sent`
      })
    }),
    (path) => Effect.sync(() => unlock(path))
  )
