#!/usr/bin/env node
/** The `runner` executable: the only file that touches the real process. */
import { main } from "./Cli.ts"
import { processIo } from "./Io.ts"

process.exitCode = await main(process.argv.slice(2), processIo())
