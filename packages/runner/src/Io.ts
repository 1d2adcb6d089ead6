/** What a command may touch of its process: output streams, environment, working dir, TTY. */
export interface Io {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
  readonly env: NodeJS.ProcessEnv
  readonly cwd: string
  /** stdout is a terminal: tables with colour and carets; otherwise plain text. */
  readonly isTTY: boolean
  /** Calls `handler` on SIGINT/SIGTERM until the returned function is called; absent in tests. */
  readonly onInterrupt?: (handler: () => void) => () => void
}

/** The process's own Io. */
export const processIo = (): Io => ({
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  isTTY: process.stdout.isTTY === true,
  onInterrupt: (handler) => {
    let count = 0
    const h = () => {
      count++
      if (count > 1) process.exit(130) // a second signal: stop waiting for requests in flight
      handler()
    }
    process.on("SIGINT", h)
    process.on("SIGTERM", h)
    return () => {
      process.off("SIGINT", h)
      process.off("SIGTERM", h)
    }
  }
})

/** An exit code with a message for the user: what went wrong and what to do next. */
export class ExitError extends Error {
  override readonly name = "ExitError"
  readonly code: number
  constructor(code: number, message: string) {
    super(message)
    this.code = code
  }
}

/** Exit 2: bad command line, pipeline or input; nothing was sent. */
export const usage = (message: string): ExitError => new ExitError(2, message)
