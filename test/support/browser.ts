/**
 * Debian's headless Chromium, driven by playwright-core (which downloads no browser of its own),
 * for the tests of what a browser shows. The flags keep it from reaching for the network.
 */
import { spawnSync } from "node:child_process"
import { type Browser, chromium } from "playwright-core"

/** Where chromium is, or undefined (then the tests' global setup could not install it). */
export const chromiumBinary = (): string | undefined => {
  const found = spawnSync("sh", ["-c", "command -v chromium"], { encoding: "utf8" }).stdout.trim()
  return found === "" ? undefined : found
}

export const launchBrowser = (): Promise<Browser> => {
  const executablePath = chromiumBinary()
  if (executablePath === undefined)
    throw new Error("chromium is not installed (apt-get install chromium; the tests' global setup does this)")
  return chromium.launch({
    executablePath,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync"
    ]
  })
}
