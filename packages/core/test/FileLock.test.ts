import { mkdtempSync, writeFileSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { tryLock, unlock } from "../src/FileLock.ts"

const lockIn = () => join(mkdtempSync(join(tmpdir(), "tg-lock-")), "x.lock")

describe("FileLock", () => {
  it("one holder at a time; released only by its holder", () => {
    const path = lockIn()
    expect(tryLock(path)).toEqual({ ok: true })
    expect(tryLock(path)).toEqual({ ok: false, holder: process.pid }) // held by this process now: not stale
    unlock(path)
    expect(tryLock(path)).toEqual({ ok: true })
    unlock(path)
  })

  it("a lock left by a dead process, or by a previous process with this pid, is taken over", () => {
    for (const pid of [2147483646, process.pid]) {
      const path = lockIn()
      writeFileSync(path, `${pid} ${hostname()}`)
      expect(tryLock(path)).toEqual({ ok: true })
      unlock(path)
    }
  })

  it("a running holder keeps it; a holder on another host is never judged stale from here", () => {
    const path = lockIn()
    writeFileSync(path, `1 ${hostname()}`) // pid 1 is always running
    expect(tryLock(path)).toEqual({ ok: false, holder: 1 })
    writeFileSync(path, "2147483646 another-host")
    expect(tryLock(path)).toEqual({ ok: false, holder: 2147483646 })
  })
})
