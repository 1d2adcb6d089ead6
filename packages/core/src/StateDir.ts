/** Where Tollgate keeps its state: `$TOLLGATE_HOME`, else the XDG state dir, else `~/.local/state/tollgate`. */
import { mkdirSync, renameSync, writeFileSync } from "node:fs"
import { homedir } from "node:os"
import { dirname, join } from "node:path"

export const stateDir = (env: NodeJS.ProcessEnv = process.env): string => {
  if (env.TOLLGATE_HOME) return env.TOLLGATE_HOME
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, "tollgate")
  return join(homedir(), ".local", "state", "tollgate")
}

/**
 * Writes `text` to `path` so readers see the old file or the new one, never half of either:
 * a uniquely named temp file in the same dir, then rename. Creates the dir.
 */
export const writeAtomicSync = (path: string, text: string | Uint8Array): void => {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
  try {
    writeFileSync(tmp, text)
  } catch (e) {
    // the dir is made when a write first finds it missing (not asked for on every write)
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(tmp, text)
  }
  renameSync(tmp, path)
}
