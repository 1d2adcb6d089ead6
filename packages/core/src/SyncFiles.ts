/**
 * The one place that touches files synchronously; everything else goes through Effect's
 * `FileSystem` (`Files.ts`). Effect's does not fit these, for two reasons:
 *
 * - **A run's durable writes, per request.** An attempt's event and an answer's record must be
 *   in the kernel before the run goes on (a `kill -9` right after must not lose what was paid
 *   for), and the response cache, the file ledger and the cross-process lock are asked on every
 *   request. `FileSystem` is asynchronous only: each call is a trip through libuv's thread pool
 *   and a fiber suspension, several per request where a synchronous write takes microseconds
 *   (`pnpm bench http` measures the run beside a raw HTTP loop).
 * - **Files shipped with the packages** (the tokenizer's ranks, the pipeline schema, the bundled
 *   catalog), read once on first use inside pure functions (counting tokens, checking a document).
 *
 * Each function says what a missing file means; other errors throw, as Node's do.
 */
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
  writeSync
} from "node:fs"
import { dirname } from "node:path"

const isMissing = (e: unknown): boolean => (e as NodeJS.ErrnoException).code === "ENOENT"

/** The file's text, or `undefined` when there is no such file. */
export const readText = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8")
  } catch (e) {
    if (isMissing(e)) return undefined
    throw e
  }
}

/** The bytes of a file that must be there (a packaged asset). */
export const readBytes = (path: string): Buffer => readFileSync(path)

export const exists = (path: string): boolean => existsSync(path)

/** The names in a directory; none when it is missing. */
export const list = (dir: string): string[] => {
  try {
    return readdirSync(dir)
  } catch (e) {
    if (isMissing(e)) return []
    throw e
  }
}

/** A file's size and last modification (ms), or `undefined` when it is missing. */
export const stat = (path: string): { readonly size: number; readonly mtimeMs: number } | undefined => {
  try {
    const st = statSync(path)
    return { size: st.size, mtimeMs: st.mtimeMs }
  } catch (e) {
    if (isMissing(e)) return undefined
    throw e
  }
}

/** Sets a file's access and modification times. */
export const touch = (path: string, atMs: number): void => utimesSync(path, atMs / 1000, atMs / 1000)

/** Removes a file, if it is there. */
export const remove = (path: string): void => {
  try {
    unlinkSync(path)
  } catch (e) {
    if (!isMissing(e)) throw e
  }
}

/** Removes a file or a folder and what it holds, if it is there. */
export const removeAll = (path: string): void => rmSync(path, { recursive: true, force: true })

export const makeDir = (path: string): void => {
  mkdirSync(path, { recursive: true })
}

/** Appends `text` to the file (created when missing), in one call. */
export const append = (path: string, text: string): void => appendFileSync(path, text)

/** Creates the file with `text` unless it exists: `false` when it does (O_EXCL). */
export const createExclusive = (path: string, text: string): boolean => {
  let fd: number
  try {
    fd = openSync(path, "wx")
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false
    throw e
  }
  try {
    writeSync(fd, text)
  } finally {
    closeSync(fd)
  }
  return true
}

/**
 * Writes `data` to `path` so readers see the old file or the new one, never half of either: a
 * uniquely named temp file in the same dir, then rename. Creates the dir when it is missing
 * (found when a write first fails, not asked on every write).
 */
export const writeAtomic = (path: string, data: string | Uint8Array): void => {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
  try {
    writeFileSync(tmp, data)
  } catch (e) {
    if (!isMissing(e)) throw e
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(tmp, data)
  }
  renameSync(tmp, path)
}

/** A file kept open to append lines to: each `write` is in the kernel before it returns. */
export interface AppendFile {
  readonly write: (text: string) => void
  readonly close: () => void
}

/** Opens `path` for appending (created when missing). */
export const openAppend = (path: string): AppendFile => {
  const fd = openSync(path, "a")
  return {
    write: (text) => {
      // every byte, as appendFileSync writes them: a write may take only part (then the rest, as bytes)
      const written = writeSync(fd, text)
      if (written === Buffer.byteLength(text)) return
      const bytes = Buffer.from(text, "utf8")
      for (let at = written; at < bytes.length; ) at += writeSync(fd, bytes, at)
    },
    close: () => closeSync(fd)
  }
}
