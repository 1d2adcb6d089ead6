/**
 * Before any test: what the suites need besides Node, so `pnpm test` works on a fresh machine.
 * Debian's redis-server for the shared-store suites (each suite starts its own instance on a
 * free loopback port) and Debian's chromium for the report suite; installed when missing.
 */
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { chromiumBinary } from "./browser.ts"
import { redisServerBinary } from "./redis.ts"

export default function setup() {
  if (redisServerBinary() !== undefined && chromiumBinary() !== undefined) return
  const script = fileURLToPath(new URL("../../scripts/services.sh", import.meta.url))
  const r = spawnSync("bash", [script], { stdio: "inherit" })
  if (r.status !== 0)
    throw new Error(
      "redis-server or chromium is missing and could not be installed (apt-get install redis-server chromium)"
    )
}
