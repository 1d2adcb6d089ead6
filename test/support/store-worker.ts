/**
 * Child process for cross-process store tests: `ledger DIR N START_MS` consumes N attempts from
 * START_MS on; `cache-set DIR KEY JSON` writes an entry; `calibrate DIR N START_MS` adds N samples
 * to the calibration index, one update each.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { QuotaLedger, ResponseCache } from "@tollgate/core"
import { addSamples } from "@tollgate/runner/plan/Calibration"
import { updateIndex } from "@tollgate/runner/store/CalibrationIndex"
import { Effect } from "effect"

const [cmd, dir, a, b] = process.argv.slice(2)
if (cmd === "ledger") {
  const ledger = QuotaLedger.makeFile(dir!)
  // start together: both processes hammer the file at the same moment
  const startAt = Number(b ?? 0)
  while (Date.now() < startAt) await new Promise((r) => setTimeout(r, 1))
  for (let i = 0; i < Number(a); i++)
    await Effect.runPromise(ledger.consume("fp", "2026-11-23", 1, 1_000_000))
} else if (cmd === "calibrate") {
  const startAt = Number(b ?? 0)
  while (Date.now() < startAt) await new Promise((r) => setTimeout(r, 1))
  const sample = {
    pipeline: "p",
    step: "s",
    model: "m",
    expectedPrompt: 10,
    billedPrompt: 12,
    completionPerItem: 5,
    items: 1
  }
  for (let i = 0; i < Number(a); i++)
    await Effect.runPromise(
      updateIndex(dir!, (index) => addSamples(index, [sample])).pipe(Effect.provide(NodeFileSystem.layer))
    )
} else if (cmd === "cache-set") {
  await Effect.runPromise(ResponseCache.makeFile(dir!).set(a!, JSON.parse(b!)))
}
