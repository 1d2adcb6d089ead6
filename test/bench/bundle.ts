/** The installed CLI's bundle, as the run benchmarks run it: built once per `pnpm bench`. */
import { execFileSync } from "node:child_process"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const ROOT = fileURLToPath(new URL("../../", import.meta.url))
let built = false

/** The bundle's entry (`packages/runner/dist/bundle/bin.js`), built from the sources first. */
export const bundledRunner = (): string => {
  if (!built) execFileSync("pnpm", ["-s", "build"], { cwd: ROOT, stdio: "ignore" })
  built = true
  return join(ROOT, "packages/runner/dist/bundle/bin.js")
}
