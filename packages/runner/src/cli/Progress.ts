/**
 * What a person sees while a run goes: on a terminal (stderr), one status line redrawn in place
 * and cut to the terminal's width; elsewhere (CI, `TERM=dumb`), plain line logs.
 */

import { type JobRef, labelOf } from "@tollgate/core/Job"
import { duration, money } from "../report/Format.ts"
import type { RunEvent } from "../run/Events.ts"
import type { IoShape } from "./Io.ts"

/** Cuts a line to `columns - 1` characters (a full-width line would wrap on some terminals). */
export const fit = (line: string, columns: number | undefined): string =>
  columns === undefined || columns < 2 || line.length < columns ? line : `${line.slice(0, columns - 2)}…`

export class Progress {
  private readonly io: IoShape
  private readonly live: boolean
  private readonly quiet: boolean
  private budget: number | undefined
  private readonly totals = new Map<string, { total: number; done: number }>()
  private inFlight = 0
  private spent = 0
  private wait: string | undefined
  private lastDraw = 0

  constructor(io: IoShape, opts: { readonly quiet: boolean }) {
    this.io = io
    // a dumb terminal (TERM=dumb: an editor's output pane, a pipe logger) cannot redraw a line: plain lines
    this.live = io.stderrIsTTY && !opts.quiet && io.env.TERM !== "dumb"
    this.quiet = opts.quiet
  }

  private log(line: string) {
    if (this.quiet) return
    if (this.live) this.io.err("\r\x1b[K")
    this.io.err(`${line}\n`)
    this.draw(true)
  }

  private draw(force = false) {
    if (!this.live) return
    const now = Date.now()
    if (!force && now - this.lastDraw < 100) return
    this.lastDraw = now
    const steps = [...this.totals].map(([id, t]) => `${id} ${t.done}/${t.total}`).join(" · ")
    const spend = `${money(this.spent)}${this.budget !== undefined ? ` of ${money(this.budget)}` : ""}`
    const line = `${steps} · in flight ${this.inFlight} · ${spend}${this.wait ? ` · ${this.wait}` : ""}`
    this.io.err(`\r\x1b[K${fit(line, this.io.columns)}`)
  }

  event(e: RunEvent): void {
    this.apply(e)
    this.draw()
  }

  private apply(e: RunEvent): void {
    switch (e.type) {
      case "run-start":
        if (e.max_cost_usd !== null) this.budget = e.max_cost_usd
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
        this.log(
          `${e.what === "provider-budget" ? "a provider budget is spent" : "free quota used up for today"}: waiting until ${new Date(e.until).toISOString().replace(/\.\d+Z$/, "Z")} (in ${duration(Math.ceil((e.until - e.at) / 1000))}) for the reset, then going on; Ctrl-C stops (a later run resumes)`
        )
        return
      case "step-deferred":
        this.log(`step ${e.step}: left to \`runner merge\` (it reads every shard's items)`)
        return
      case "attempt":
        this.inFlight++
        this.wait = undefined
        return
      case "response":
        this.inFlight = Math.max(0, this.inFlight - 1)
        if (e.cost !== undefined) this.spent += Number(e.cost)
        if (e.status !== undefined && e.status < 300) this.advance(e)
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
    const eta = new Date(at + delayMs).toISOString().slice(11, 19)
    this.wait = `${label} waits ${duration(delayMs / 1000)} until ${eta}Z: ${reason}`
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
    if (this.live) this.io.err("\r\x1b[K")
  }
}
