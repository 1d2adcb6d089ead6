/** Runs the `runner` CLI in-process or as a real child process, capturing its output. */
import { spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { runCli as cli } from "@tollgate/runner/cli/Cli"
import { Io } from "@tollgate/runner/cli/Io"
import { Effect, FileSystem, Layer, Path, Stdio, Terminal } from "effect"
import { ChildProcessSpawner } from "effect/process"

export const ROOT = fileURLToPath(new URL("../../", import.meta.url))
export const BIN = join(ROOT, "packages/runner/bin/runner.js")

export interface CliResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Node's file system, for a store or a file system a test builds by hand. */
export const nodeFs: FileSystem.FileSystem = Effect.runSync(
  Effect.provide(FileSystem.FileSystem, NodeFileSystem.layer)
)

/** A fresh, empty state dir for one test. */
export const tempHome = (): string => mkdtempSync(join(tmpdir(), "tollgate-test-"))

/** The platform services effect/cli asks for: Node's file system, the rest stubs (the CLI writes through `Io`). */
export const platform = Layer.mergeAll(
  NodeFileSystem.layer,
  Path.layer,
  Stdio.layerTest({}),
  Layer.succeed(
    Terminal.Terminal,
    Terminal.make({
      columns: Effect.succeed(100),
      rows: Effect.succeed(40),
      size: Effect.die("unused"),
      readInput: Effect.die("unused"),
      readLine: Effect.die("unused"),
      display: () => Effect.void
    })
  ),
  Layer.succeed(
    ChildProcessSpawner.ChildProcessSpawner,
    ChildProcessSpawner.make(() => Effect.die("unused"))
  )
)

/** An in-process command's `Io`, its output captured. */
export const captureIo = (opts: {
  env?: Record<string, string> | undefined
  cwd?: string | undefined
  isTTY?: boolean | undefined
  columns?: number | undefined
  interrupted?: Effect.Effect<void> | undefined
}) => {
  const out = { stdout: "", stderr: "" }
  const layer = Layer.succeed(Io, {
    out: (t) => {
      out.stdout += t
    },
    err: (t) => {
      out.stderr += t
    },
    env: { TOLLGATE_HOME: tempHome(), ...opts.env },
    cwd: opts.cwd ?? ROOT,
    stdoutIsTTY: opts.isTTY ?? false,
    stderrIsTTY: opts.isTTY ?? false,
    columns: opts.columns,
    interrupted: opts.interrupted ?? Effect.never
  })
  return { out, layer }
}

/** Runs `runner argv…` in this process with its own state dir and environment. */
export const runCli = async (
  argv: ReadonlyArray<string>,
  opts: {
    env?: Record<string, string>
    cwd?: string
    isTTY?: boolean
    columns?: number
    /** A file system in place of Node's (one that fails, say). */
    fileSystem?: FileSystem.FileSystem
  } = {}
): Promise<CliResult> => {
  const io = captureIo(opts)
  const files = opts.fileSystem === undefined ? [] : [Layer.succeed(FileSystem.FileSystem, opts.fileSystem)]
  const code = await Effect.runPromise(
    cli(argv).pipe(Effect.provide(Layer.mergeAll(platform, io.layer, ...files)))
  )
  return { code, ...io.out }
}

/** Runs the real `runner` executable as a child process. */
export const runBin = (
  argv: ReadonlyArray<string>,
  opts: { env?: Record<string, string>; cwd?: string } = {}
): Promise<CliResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...argv], {
      cwd: opts.cwd ?? ROOT,
      env: { PATH: process.env.PATH ?? "", TOLLGATE_HOME: tempHome(), ...opts.env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => {
      stdout += d
    })
    child.stderr.on("data", (d) => {
      stderr += d
    })
    child.on("error", reject)
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }))
  })
