/** Where Tollgate keeps its state: `$TOLLGATE_HOME`, else the XDG state dir, else `~/.local/state/tollgate`. */
import { homedir } from "node:os"
import { join } from "node:path"

/** The state dir for these settings (read from the environment at the edge, `Settings.ts`). */
export const stateDir = (env: {
  readonly TOLLGATE_HOME?: string | undefined
  readonly XDG_STATE_HOME?: string | undefined
}): string => {
  if (env.TOLLGATE_HOME) return env.TOLLGATE_HOME
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, "tollgate")
  return join(homedir(), ".local", "state", "tollgate")
}
