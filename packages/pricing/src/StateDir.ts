/** Where Tollgate keeps its state: `$TOLLGATE_HOME`, else the XDG state dir, else `~/.local/state/tollgate`. */
import { homedir } from "node:os"
import { join } from "node:path"

export const stateDir = (env: NodeJS.ProcessEnv = process.env): string => {
  if (env.TOLLGATE_HOME) return env.TOLLGATE_HOME
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, "tollgate")
  return join(homedir(), ".local", "state", "tollgate")
}
