/** The default file stores across real processes: the quota ledger and the response cache. */
import { spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { QuotaLedger, ResponseCache } from "@tollgate/core"
import { readIndex } from "@tollgate/runner/store/CalibrationIndex"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"

const WORKER = fileURLToPath(new URL("./support/store-worker.ts", import.meta.url))
const run = (...args: string[]) =>
  new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, ...args], { stdio: ["ignore", "inherit", "inherit"] })
    child.on("error", reject)
    child.on("close", (code) => resolve(code ?? -1))
  })

describe("calibration index", () => {
  it("runs ending at once keep each other's samples (three processes, 40 updates each)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tg-calib-"))
    const startAt = String(Date.now() + 1500)
    const codes = await Promise.all([1, 2, 3].map(() => run("calibrate", dir, "40", startAt)))
    expect(codes).toEqual([0, 0, 0])
    expect(
      (await Effect.runPromise(readIndex(dir).pipe(Effect.provide(NodeFileSystem.layer)))).models.m
    ).toEqual({ billed: 12 * 120, expected: 10 * 120, requests: 120 })
  })
})

describe("quota ledger (file store)", () => {
  it("two processes writing at once lose no count, and the count survives a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tg-ledger-"))
    const startAt = String(Date.now() + 1500)
    const codes = await Promise.all([run("ledger", dir, "300", startAt), run("ledger", dir, "300", startAt)])
    expect(codes).toEqual([0, 0])
    // a new process-level instance (a restart) reads what they wrote
    const ledger = QuotaLedger.makeFile(dir)
    expect(await Effect.runPromise(ledger.used("fp", "2026-11-23"))).toBe(600)
    expect(await Effect.runPromise(ledger.used("fp", "2026-11-24"))).toBe(0)
    expect(await Effect.runPromise(ledger.used("other-key", "2026-11-23"))).toBe(0)
  })

  it("refuses attempts past the limit without recording them", async () => {
    const ledger = QuotaLedger.makeFile(mkdtempSync(join(tmpdir(), "tg-ledger-")))
    const results = []
    for (let i = 0; i < 4; i++) results.push(await Effect.runPromise(ledger.consume("fp", "d", 1, 3)))
    expect(results.map((r) => r.ok)).toEqual([true, true, true, false])
    expect(await Effect.runPromise(ledger.used("fp", "d"))).toBe(3)
  })
})

describe("response cache (file store)", () => {
  it("an entry written by one process is a hit in another", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tg-cache-"))
    const key = ResponseCache.cacheKey("http://sim/v1", { model: "m", messages: [] })
    expect(
      await run("cache-set", dir, key, JSON.stringify({ choices: [{ message: { content: "hi" } }] }))
    ).toBe(0)
    const body = await Effect.runPromise(ResponseCache.makeFile(dir).get(key))
    expect(body).toEqual({ choices: [{ message: { content: "hi" } }] })
  })
})
