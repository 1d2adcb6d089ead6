/** A throwaway redis-server on a loopback port for the shared-store tests (Debian's redis-server). */
import { spawn, spawnSync } from "node:child_process"
import { createServer } from "node:net"

export interface RedisServer {
  readonly url: string
  stop(): void
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = createServer()
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => resolve(port))
    })
    srv.on("error", reject)
  })

/** Where redis-server is, or undefined (then the tests' global setup could not install it). */
export const redisServerBinary = (): string | undefined => {
  const found = spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).stdout.trim()
  return found === "" ? undefined : found
}

export interface RedisOptions {
  /** Keep data in this dir with the append-only file, fsync on every write (survives a kill). */
  readonly aofDir?: string
  /** More `redis-server` arguments, e.g. `["--maxmemory", "10mb"]`. */
  readonly args?: ReadonlyArray<string>
}

export const startRedis = async (opts: RedisOptions = {}): Promise<RedisServer> => {
  const bin = redisServerBinary()
  if (bin === undefined)
    throw new Error(
      "redis-server is not installed (apt-get install redis-server; the tests' global setup does this)"
    )
  const port = await freePort()
  const child = spawn(
    bin,
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      ...(opts.aofDir !== undefined
        ? ["--dir", opts.aofDir, "--appendonly", "yes", "--appendfsync", "always"]
        : ["--appendonly", "no"]),
      ...(opts.args ?? [])
    ],
    {
      stdio: ["ignore", "pipe", "pipe"]
    }
  )
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("redis-server did not start")), 10_000)
    child.stdout.on("data", (d: Buffer) => {
      if (d.toString().includes("Ready to accept connections")) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.on("exit", (code) => reject(new Error(`redis-server exited with ${code}`)))
  })
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill("SIGKILL") }
}
