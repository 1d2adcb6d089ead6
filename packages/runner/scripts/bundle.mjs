// Bundles the CLI (src/bin.ts and everything it loads, dependencies included) into dist/bundle/,
// one file per lazily loaded part (a command's handler, the HTTP provider, the Redis store).
// Node then loads a few files instead of resolving and linking the hundreds of modules Effect is
// made of: the installed `runner` starts several times faster. The library (`dist/index.js`)
// stays unbundled. dist/bundle/ sits two levels below the package, like src/<stage>/, so the
// paths the code finds beside itself (the schema, package.json) are the same.
import { build } from "esbuild"

await build({
  entryPoints: { bin: new URL("../src/bin.ts", import.meta.url).pathname },
  outdir: new URL("../dist/bundle", import.meta.url).pathname,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node22",
  logLevel: "warning",
  // a few CommonJS dependencies call require(): give the ES modules one
  banner: {
    js: "import { createRequire as __tollgateRequire } from 'node:module'; const require = __tollgateRequire(import.meta.url);"
  }
})
