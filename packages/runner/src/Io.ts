/** What a command may touch of its process: output streams, environment, working dir, TTY. */
export interface Io {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
  readonly env: NodeJS.ProcessEnv
  readonly cwd: string
  /** stdout is a terminal: tables with colour and carets; otherwise plain text. */
  readonly isTTY: boolean
}

/** The process's own Io. */
export const processIo = (): Io => ({
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  isTTY: process.stdout.isTTY === true
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

export const ExitCode = { ok: 0, failure: 1, invalid: 2, gate: 3, interrupted: 130 } as const
