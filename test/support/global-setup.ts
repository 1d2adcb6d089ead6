/**
 * Before any test: what the suites need besides Node, so `pnpm test` works on a fresh machine.
 * Debian's redis-server for the shared-store suites (each suite starts its own instance on a
 * free loopback port), chromium for the report suite and tmux for the terminal suite; installed
 * when missing.
 */
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { chromiumBinary } from "./browser.ts"
import { redisServerBinary } from "./redis.ts"

export default function setup() {
  const tmux = spawnSync("sh", ["-c", "command -v tmux"]).status === 0
  if (redisServerBinary() !== undefined && chromiumBinary() !== undefined && tmux) return
  const script = fileURLToPath(new URL("../../scripts/services.sh", import.meta.url))
  const r = spawnSync("bash", [script], { stdio: "inherit" })
  if (r.status !== 0)
    throw new Error(
      "redis-server, chromium or tmux is missing and could not be installed (apt-get install redis-server chromium tmux)"
    )
}
