/** The run's records when a write fails: a request waiting on its attempt's line is not sent, and the line is kept for the next write. */
import { existsSync, mkdtempSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Records } from "@tollgate/runner/run/Records"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { describe, expect, it } from "vitest"

const attempt = (item: number) =>
  ({ type: "attempt", step: "s", item, attempt: 1, at: 1_764_900_000_000, worst: "0.001" }) as const

describe.skipIf(!existsSync("/dev/full"))("the run's records when a write fails", () => {
  it("a request waiting for its attempt's line dies unsent, and the line stays gathered for the next write", async () => {
    const out = mkdtempSync(join(tmpdir(), "tg-records-"))
    const records = Records.open(out, "identity", "p.yaml", new Date(1_764_900_000_000), { now: () => 0 })
    // every write to the events file fails (ENOSPC), as on a full disk
    symlinkSync("/dev/full", join(records.dir, "events.ndjson"))
    records.event(attempt(0))
    const exit = await Effect.runPromiseExit(records.durable)
    expect(Exit.isFailure(exit) && Exit.hasDies(exit)).toBe(true)
    // not dropped: the next write still has it (and fails as the disk does)
    expect(() => records.writeGathered()).toThrow(/ENOSPC|no space/i)
    const again = await Effect.runPromiseExit(records.durable)
    expect(Exit.isFailure(again)).toBe(true)
    expect(() => records.close()).toThrow(/ENOSPC|no space/i)
    // closed: nothing is retried, and a request that still asks is refused at once, never left waiting
    records.event(attempt(1))
    const closed = await Effect.runPromiseExit(records.durable)
    expect(Exit.isFailure(closed) && Exit.hasDies(closed)).toBe(true)
  })
})
