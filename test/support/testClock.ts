/**
 * A runner command run in this process on Effect's `TestClock`, so a run that waits for a daily
 * reset (hours) is carried past it in milliseconds. The clock starts at the real time (or `at`)
 * and runs `speed` times faster than the real one while the run paces and sends; `jumpPast` moves
 * it to a waited-for instant at once. Requests go to a real simulator on loopback, so the clock
 * advances in small steps with a real pause between them, in which replies arrive.
 */
import { runCli as cli } from "@tollgate/runner/cli/Cli"
import { Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { type CliResult, captureIo, platform } from "./cli.ts"

export interface ClockedRun {
  /** The command's exit code and output, when it ends. */
  readonly done: Promise<CliResult>
  /** The instants the run said it waits until (`waiting until …Z (in …)`), in order. */
  readonly waits: () => number[]
  /** Moves the run's clock to just past `atMs` (a waited-for reset). */
  readonly jumpPast: (atMs: number) => void
  /** The user's first Ctrl-C: the run stops sending and lets what is in flight settle. */
  readonly interrupt: () => void
  readonly stderr: () => string
}

/**
 * The real time, or half an hour earlier when 00:00 UTC is less than a quarter of an hour away: a
 * run that paces its first requests must not cross the daily reset before the test moves it.
 */
const awayFromMidnight = (nowMs: number): number => {
  const toMidnight = 86_400_000 - (nowMs % 86_400_000)
  return toMidnight < 15 * 60_000 ? nowMs - 30 * 60_000 : nowMs
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Runs `runner argv…` on a `TestClock` driven by the test. */
export const runOnTestClock = (
  argv: ReadonlyArray<string>,
  opts: { cwd: string; env?: Record<string, string>; at?: number; speed?: number }
): ClockedRun => {
  let jumpTo: number | undefined
  let interrupted = false
  let onInterrupt: (() => void) | undefined
  const io = captureIo({
    ...opts,
    interrupted: Effect.callback<void>((resume) => {
      if (interrupted) return resume(Effect.void)
      onInterrupt = () => resume(Effect.void)
      return Effect.sync(() => {
        onInterrupt = undefined
      })
    })
  })
  const stepMs = opts.speed ?? 10
  const program = Effect.gen(function* () {
    yield* TestClock.setTime(opts.at ?? awayFromMidnight(Date.now()))
    const fiber = yield* Effect.forkChild(cli(argv))
    // a test that failed while the run waits does not leave this loop driving a clock forever
    const giveUpAt = Date.now() + 120_000
    while (fiber.pollUnsafe() === undefined) {
      if (Date.now() > giveUpAt) {
        yield* Fiber.interrupt(fiber)
        break
      }
      const to = jumpTo
      jumpTo = undefined
      yield* to !== undefined ? TestClock.setTime(to) : TestClock.adjust(stepMs)
      // real time for the replies on loopback and the records' deferred writes
      yield* Effect.promise(() => pause(1))
    }
    const exit = yield* Fiber.await(fiber)
    return exit._tag === "Success" ? exit.value : 1
  })
  const done = Effect.runPromise(
    program.pipe(Effect.provide(Layer.mergeAll(platform, io.layer, TestClock.layer())), Effect.scoped)
  ).then((code) => ({ code, ...io.out }))
  return {
    done,
    waits: () => [...io.out.stderr.matchAll(/waiting until (\S+Z) \(in/g)].map((m) => Date.parse(m[1]!)),
    jumpPast: (atMs) => {
      jumpTo = atMs + 2_000
    },
    interrupt: () => {
      interrupted = true
      onInterrupt?.()
    },
    stderr: () => io.out.stderr
  }
}
