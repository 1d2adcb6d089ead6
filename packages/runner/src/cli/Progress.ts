/**
 * What a person sees while a run goes: on a terminal (stderr), a status block redrawn in place,
 * on every event and on a timer (`tick`), so the time, the ETA and a wait's countdown move while
 * nothing else does; elsewhere (CI, a pipe, `TERM=dumb`), plain line logs.
 */

import { type JobRef, labelOf } from "@tollgate/core/Job"
import { duration, money } from "../report/Format.ts"
import type { RunEvent } from "../run/Events.ts"
import type { IoShape } from "./Io.ts"
import { type Status, statusLines } from "./StatusLines.ts"

/** How often the live block is redrawn with nothing new (the clock and the countdowns move). */
export const TICK_MS = 250

interface Wait {
  readonly label: string
  readonly reason: string
  readonly until: number
}

export class Progress {
  private readonly io: IoShape
  private readonly now: () => number
  /** Redraws in place (a terminal that can); else plain lines. */
  readonly live: boolean
  private readonly quiet: boolean
  private budget: number | undefined
  private startedAt: number | undefined
  private minDurationS = 0
  private requests = 0
  private answered = 0
  private readonly totals = new Map<string, { total: number; done: number }>()
  private inFlight = 0
  private spent = 0
  /** Requests waiting for a limit, by label. */
  private readonly waits = new Map<string, Wait>()
  private drawn = 0
  private lastDraw = 0

  constructor(
    io: IoShape,
    opts: {
      readonly quiet: boolean
      readonly now: () => number
      /** `TERM=dumb` (the settings say): an editor's output pane, a pipe logger. */
      readonly dumbTerminal?: boolean | undefined
    }
  ) {
    this.io = io
    this.now = opts.now
    // a dumb terminal cannot redraw a line: plain lines
    this.live = io.stderrIsTTY && !opts.quiet && opts.dumbTerminal !== true
    this.quiet = opts.quiet
  }

  private clear() {
    if (this.drawn > 1) this.io.err(`\x1b[${this.drawn - 1}A`)
    if (this.drawn > 0) this.io.err("\r\x1b[J")
    this.drawn = 0
  }

  private log(line: string) {
    if (this.quiet) return
    if (this.live) this.clear()
    this.io.err(`${line}\n`)
    this.draw(true)
  }

  /** The block as it stands now. */
  status(): Status {
    const now = this.now()
    const elapsedMs = this.startedAt === undefined ? 0 : now - this.startedAt
    for (const [label, w] of this.waits) if (w.until <= now) this.waits.delete(label)
    const next = [...this.waits.values()].sort((a, b) => a.until - b.until)[0]
    return {
      steps: [...this.totals].map(([id, t]) => ({ id, ...t })),
      elapsedMs,
      etaS: this.eta(elapsedMs, next === undefined ? 0 : next.until - now),
      inFlight: this.inFlight,
      spent: this.spent,
      budget: this.budget,
      wait:
        next === undefined
          ? undefined
          : {
              label: this.waits.size > 1 ? `${next.label} (+${this.waits.size - 1} more)` : next.label,
              reason: next.reason,
              leftMs: next.until - now,
              until: next.until
            }
    }
  }

  /**
   * Seconds left: the pace so far over what remains, never below what the rate limits allow
   * (the plan's least time, less the time gone) or the wait in progress.
   */
  private eta(elapsedMs: number, waitMs: number): number | undefined {
    const left = Math.max(0, this.requests - this.answered)
    if (left === 0) return this.requests > 0 ? 0 : undefined
    const paced = Math.max(0, this.minDurationS - elapsedMs / 1000, waitMs / 1000)
    if (this.answered === 0) return paced > 0 ? paced : undefined
    return Math.max(paced, ((elapsedMs / 1000) * left) / this.answered)
  }

  private draw(force = false) {
    if (!this.live) return
    const now = this.now()
    if (!force && now - this.lastDraw < 100) return
    this.lastDraw = now
    const lines = statusLines(this.status(), this.io.columns)
    this.clear()
    this.io.err(lines.join("\n"))
    this.drawn = lines.length
  }

  /** A line for the person above the block (an interrupt's notice): never drawn over. */
  notice(line: string): void {
    if (this.quiet) this.io.err(`${line}\n`)
    else this.log(line)
  }

  /** The timer's redraw: the clock, the ETA and a wait's countdown move with nothing new. */
  tick(): void {
    this.draw(true)
  }

  event(e: RunEvent): void {
    this.apply(e)
    this.draw()
  }

  private apply(e: RunEvent): void {
    switch (e.type) {
      case "run-start":
        if (e.max_cost_usd !== null) this.budget = e.max_cost_usd
        this.startedAt ??= this.now()
        // each day of --until-done plans again: what is left is the new plan's
        this.requests = e.requests
        this.answered = 0
        this.minDurationS = e.min_duration_s ?? 0
        return
      case "warning":
        this.log(`warning: ${e.message}`)
        return
      case "cache-corrupt":
        this.log(`cache: ${e.message}`)
        return
      case "step-start":
        this.totals.set(e.step, { total: e.total, done: 0 })
        if (!this.live)
          this.log(
            e.packs !== undefined
              ? `step ${e.step}: ${e.total} items in ${e.packs} packed request${e.packs === 1 ? "" : "s"}`
              : `step ${e.step}: ${e.total} request${e.total === 1 ? "" : "s"}`
          )
        return
      case "step-end":
        this.log(`step ${e.step}: done (${e.completed} ok${e.failed > 0 ? `, ${e.failed} failed` : ""})`)
        return
      case "step-skipped":
        this.log(`step ${e.step}: skipped (when is false)`)
        return
      case "quota-wait":
        this.waits.set("the run", {
          label: "the run",
          reason: e.what === "provider-budget" ? "a provider budget's reset" : "the daily free quota's reset",
          until: e.until
        })
        this.log(
          `${e.what === "provider-budget" ? "a provider budget is spent" : "free quota used up for today"}: waiting until ${new Date(e.until).toISOString().replace(/\.\d+Z$/, "Z")} (in ${duration(Math.ceil((e.until - e.at) / 1000))}) for the reset, then going on; Ctrl-C stops (a later run resumes)`
        )
        return
      case "overflow-plan":
        this.log(
          `step ${e.step}: ${e.free_now} free now${e.free_later > 0 ? `, ${e.free_later} free after the quota's reset (before the deadline)` : ""}${e.paid > 0 ? `, ${e.paid} on ${e.model} (paid) to meet the deadline` : ""}`
        )
        return
      case "overflow":
        this.log(`${e.step}[${e.item}]: ${e.reason}; sent on the overflow model`)
        return
      case "step-deferred":
        this.log(`step ${e.step}: left to \`runner merge\` (it reads every shard's items)`)
        return
      case "attempt":
        this.inFlight++
        this.waits.delete(labelOf(e))
        this.waits.delete("the run")
        return
      case "response":
        this.inFlight = Math.max(0, this.inFlight - 1)
        if (e.cost !== undefined) this.spent += Number(e.cost)
        if (e.status !== undefined && e.status < 300) {
          this.answered++
          this.advance(e)
        }
        return
      case "cache-hit":
        this.advance(e)
        return
      case "waiting":
        this.waiting(labelOf(e), e.delayMs, e.reason, e.at)
        return
      case "retry":
        this.log(
          `${labelOf(e)}: ${e.reason} (${e.message}); retry ${e.attempt + 1} in ${duration(e.delayMs / 1000)}`
        )
        return
      case "stop":
        this.log(`stopping: ${e.message}`)
        return
    }
  }

  private waiting(label: string, delayMs: number, reason: string, at: number) {
    if (delayMs < 1000) return
    this.waits.set(label, { label, reason, until: at + delayMs })
    const eta = new Date(at + delayMs).toISOString().slice(11, 19)
    if (!this.live) this.log(`${label}: waiting ${duration(delayMs / 1000)}, until ${eta}Z (${reason})`)
  }

  /** One more request of a step finished (a pack's: its items); in CI, a line at every tenth of a large step. */
  private advance(r: JobRef) {
    const step = r.step
    const t = this.totals.get(step)
    if (t === undefined) return
    const before = t.done
    t.done += r.pack ?? 1
    const tenth = Math.floor((t.done * 10) / t.total)
    if (!this.live && t.total >= 20 && tenth > Math.floor((before * 10) / t.total) && t.done < t.total)
      this.log(`step ${step}: ${t.done}/${t.total} (${tenth * 10}%), ${money(this.spent)} spent so far`)
  }

  done(): void {
    if (this.live) this.clear()
  }
}
