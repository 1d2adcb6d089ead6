// A preload for runner processes in tests (`node --import`): shifts the process's wall clock by
// the milliseconds written in $TOLLGATE_TEST_CLOCK_FILE (read again at most every 50 ms), so a
// test can move a running runner past 00:00 UTC without waiting for it. Timers are untouched.
import { readFileSync } from "node:fs"

const file = process.env.TOLLGATE_TEST_CLOCK_FILE
if (file) {
  const RealDate = Date
  const realNow = RealDate.now.bind(RealDate)
  let offset = 0
  let readAt = Number.NEGATIVE_INFINITY
  const now = () => {
    const t = realNow()
    if (t - readAt > 50) {
      readAt = t
      try {
        offset = Number(readFileSync(file, "utf8")) || 0
      } catch {}
    }
    return t + offset
  }
  class ShiftedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(now())
      else super(...args)
    }
    static now() {
      return now()
    }
  }
  globalThis.Date = ShiftedDate
}
