import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { ledgerPath, makeFile } from "../src/QuotaLedger.ts"

describe("QuotaLedger file store", () => {
  it.effect("counts per day under the limit; a missing file is an empty ledger", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "tg-ledger-"))
      const ledger = makeFile(dir)
      assert.strictEqual(yield* ledger.used("fp", "2026-11-23"), 0)
      assert.deepStrictEqual(yield* ledger.consume("fp", "2026-11-23", 2, 3), { ok: true, used: 2 })
      assert.deepStrictEqual(yield* ledger.consume("fp", "2026-11-23", 2, 3), { ok: false, used: 2 })
      assert.strictEqual(yield* ledger.used("fp", "2026-11-24"), 0)
    })
  )

  it.effect(
    "a damaged ledger is an error naming the file, for reads and updates alike (never a silent zero)",
    () =>
      Effect.gen(function* () {
        const dir = mkdtempSync(join(tmpdir(), "tg-ledger-"))
        const path = ledgerPath(dir, "fp")
        mkdirSync(join(dir, "ledger"), { recursive: true })
        const ledger = makeFile(dir)
        for (const damage of [
          "",
          "[]",
          "{ nope",
          '{"version":1,"days":{"2026-11-23":-1}}',
          '{"version":1,"days":{"2026-11-23":"3"}}',
          '{"version":2,"days":{}}'
        ]) {
          writeFileSync(path, damage)
          for (const op of [
            ledger.used("fp", "2026-11-23"),
            Effect.asVoid(ledger.consume("fp", "2026-11-23", 1, 50))
          ]) {
            const exit = yield* Effect.exit(op)
            assert.isTrue(Exit.isFailure(exit), `accepted ${JSON.stringify(damage)}`)
            if (Exit.isFailure(exit)) assert.include(String(exit.cause), path)
          }
        }
      })
  )
})
