#!/usr/bin/env node
// The `runner` executable. Plain JavaScript that any Node can parse: it checks the Node version,
// answers --version without loading anything, turns on Node's module compile cache, then runs
// the CLI: the bundled JavaScript when installed, the TypeScript sources inside the workspace.
import { existsSync, readFileSync } from "node:fs"
import module from "node:module"

const NEEDS = [22, 19]
const [major, minor] = process.versions.node.split(".").map(Number)
if (major < NEEDS[0] || (major === NEEDS[0] && minor < NEEDS[1])) {
  process.stderr.write(`runner needs Node.js ${NEEDS.join(".")} or newer; this is ${process.versions.node}\n`)
  process.exit(1)
}

const arg = process.argv[2]
if ((arg === "--version" || arg === "-v") && process.argv.length === 3) {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))
  process.stdout.write(`runner ${pkg.version}\n`)
  process.exit(0)
}

// Node 22 calls node:sqlite (the response cache's database) experimental on first use; the line
// would only alarm a user, and the cache works the same on Node 22 and 24
const emitWarning = process.emitWarning
process.emitWarning = (warning, ...rest) =>
  /SQLite is an experimental feature/.test(String(warning?.message ?? warning))
    ? undefined
    : emitWarning.call(process, warning, ...rest)

module.enableCompileCache?.()
const source = new URL("../src/bin.ts", import.meta.url)
const bundle = new URL("../dist/bundle/bin.js", import.meta.url)
await import(
  (existsSync(source) ? source : existsSync(bundle) ? bundle : new URL("../dist/bin.js", import.meta.url))
    .href
)
