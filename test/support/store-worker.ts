/** Child process for cross-process store tests: `ledger DIR N START_MS` consumes N attempts from START_MS on; `cache-set DIR KEY JSON` writes an entry. */
import { QuotaLedger, ResponseCache } from "@tollgate/core"
import { Effect } from "effect"

const [cmd, dir, a, b] = process.argv.slice(2)
if (cmd === "ledger") {
  const ledger = QuotaLedger.makeFile(dir!)
  // start together: both processes hammer the file at the same moment
  const startAt = Number(b ?? 0)
  while (Date.now() < startAt) await new Promise((r) => setTimeout(r, 1))
  for (let i = 0; i < Number(a); i++)
    await Effect.runPromise(ledger.consume("fp", "2026-11-23", 1, 1_000_000))
} else if (cmd === "cache-set") {
  await Effect.runPromise(ResponseCache.makeFile(dir!).set(a!, JSON.parse(b!)))
}
