/**
 * A run's young generation, held small. A run allocates fast (tens of KB a request, nearly all
 * of it dead before the next), and V8 grows the young generation to 16–32 MB a half for that,
 * which the process then keeps: at 100,000 items a run's peak RSS was ~300 MB, ~60 MB of it young
 * generation. With halves of at most 8 MB the same run peaks ~240 MB, no slower. V8 reads the
 * size only when the process starts, so `runner run` starts its process again with it, in place
 * (`process.execve`: the same process id, streams and signals, so a kill or an interrupt reaches
 * the run as before). Imported first by `bin.ts`: nothing else has run yet. Only `run` does this
 * (the other commands are short, and their start-up is timed); where `execve` is missing
 * (Windows, older Node) or refuses, the run goes on as it is. A sandbox that forbids exec would
 * make Node 22–25 abort instead (they do not report a failed exec to JavaScript):
 * `TOLLGATE_REEXEC=0` turns this off.
 */
import { accessSync, constants } from "node:fs"

const FLAG = "--max-semi-space-size"
const SIZE_MB = 8

/** Only a binary that is there and executable is asked for (a failed exec aborts Node 22–25). */
const runnable = (file: string): boolean => {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

const wanted = (argv: ReadonlyArray<string>, execArgv: ReadonlyArray<string>, env: NodeJS.ProcessEnv) =>
  env.TOLLGATE_REEXEC !== "0" &&
  argv[0] === "run" &&
  !argv.includes("--help") &&
  !argv.includes("-h") &&
  !execArgv.some((a) => a.startsWith(FLAG)) &&
  !(env.NODE_OPTIONS ?? "").includes(FLAG) &&
  runnable(process.execPath)

const execve = (process as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never })
  .execve

if (typeof execve === "function" && wanted(process.argv.slice(2), process.execArgv, process.env))
  try {
    execve.call(
      process,
      process.execPath,
      [process.execPath, `${FLAG}=${SIZE_MB}`, ...process.execArgv, ...process.argv.slice(1)],
      process.env
    )
  } catch {
    // the run goes on with V8's own young generation
  }
