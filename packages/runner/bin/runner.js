#!/usr/bin/env node
// Runs the TypeScript source directly: Node >= 22.18 strips types natively (no build step).
await import("../src/bin.ts")
