import { existsSync, mkdtempSync, writeFileSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import { assert, it as effectIt } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { describe, expect, it } from "vitest"
import { tryLock, unlock, withFileLock } from "../src/FileLock.ts"

const lockIn = () => join(mkdtempSync(join(tmpdir(), "tg-lock-")), "x.lock")

describe("FileLock", () => {
  it("one holder at a time; released only by its holder", () => {
    const path = lockIn()
    expect(tryLock(path, Date.now())).toEqual({ ok: true })
    expect(tryLock(path, Date.now())).toEqual({ ok: false, holder: process.pid }) // held by this process now: not stale
    unlock(path)
    expect(tryLock(path, Date.now())).toEqual({ ok: true })
    unlock(path)
  })

  it("a lock left by a dead process, or by a previous process with this pid, is taken over", () => {
    for (const pid of [2147483646, process.pid]) {
      const path = lockIn()
      writeFileSync(path, `${pid} ${hostname()}`)
      expect(tryLock(path, Date.now())).toEqual({ ok: true })
      unlock(path)
    }
  })

  it("a running holder keeps it; a holder on another host is never judged stale from here", () => {
    const path = lockIn()
    writeFileSync(path, `1 ${hostname()}`) // pid 1 is always running
    expect(tryLock(path, Date.now())).toEqual({ ok: false, holder: 1 })
    writeFileSync(path, "2147483646 another-host")
    expect(tryLock(path, Date.now())).toEqual({ ok: false, holder: 2147483646 })
  })
})

describe("withFileLock (an Effect, on the Clock)", () => {
  effectIt.effect("waits while a running process holds the lock, and times out naming it", () =>
    Effect.gen(function* () {
      const path = lockIn().replace(/\.lock$/, "")
      writeFileSync(`${path}.lock`, `1 ${hostname()}`) // pid 1 holds it, and keeps running
      const fiber = yield* Effect.forkChild(
        Effect.exit(withFileLock(path, Effect.succeed("ran"), { timeoutMs: 2_000 }))
      )
      for (let i = 0; i < 200 && fiber.pollUnsafe() === undefined; i++) {
        yield* Effect.yieldNow
        yield* TestClock.adjust(25)
      }
      const exit = yield* Fiber.join(fiber)
      assert.isTrue(Exit.isFailure(exit))
      assert.match(
        String(Exit.isFailure(exit) ? exit.cause : ""),
        /is locked by process 1, still running after 2 s/
      )
    })
  )

  effectIt.effect("runs under the lock and releases it, however its effect ends", () =>
    Effect.gen(function* () {
      const path = lockIn().replace(/\.lock$/, "")
      const failed = yield* Effect.exit(withFileLock(path, Effect.fail("boom")))
      assert.isTrue(Exit.isFailure(failed))
      assert.isFalse(existsSync(`${path}.lock`))
      assert.strictEqual(
        yield* withFileLock(
          path,
          Effect.sync(() => existsSync(`${path}.lock`))
        ),
        true
      )
      assert.isFalse(existsSync(`${path}.lock`))
    })
  )
})
