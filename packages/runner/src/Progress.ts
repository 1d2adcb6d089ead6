/** What a person sees while a run goes: a status line on a terminal, plain line logs in CI. */
import type { Io } from "./Io.ts"
import { duration, money } from "./Report.ts"

export class Progress {
  private readonly io: Io
  private readonly live: boolean
  private readonly quiet: boolean
  private budget: number | undefined
  private readonly totals = new Map<string, { total: number; done: number }>()
  private inFlight = 0
  private spent = 0
  private wait: string | undefined
  private lastDraw = 0

  constructor(io: Io, opts: { readonly quiet: boolean; readonly budgetUsd: number | undefined }) {
    this.io = io
    this.live = io.isTTY && !opts.quiet
    this.budget = opts.budgetUsd
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
    this.io.err(
      `\r\x1b[K${steps} · in flight ${this.inFlight} · ${spend}${this.wait ? ` · ${this.wait}` : ""}`
    )
  }

  event(e: Record<string, unknown>): void {
    switch (e.type) {
      case "run-start":
        if (typeof e.max_cost_usd === "number") this.budget = e.max_cost_usd
        break
      case "warning":
        this.log(`warning: ${e.message}`)
        break
      case "cache-corrupt":
        this.log(`cache: ${e.message}`)
        break
      case "step-start":
        this.totals.set(String(e.step), { total: Number(e.total), done: 0 })
        if (!this.live) this.log(`step ${e.step}: ${e.total} request${e.total === 1 ? "" : "s"}`)
        break
      case "step-end":
        this.log(
          `step ${e.step}: done (${e.completed} ok${Number(e.failed) > 0 ? `, ${e.failed} failed` : ""})`
        )
        break
      case "step-skipped":
        this.log(`step ${e.step}: skipped (when is false)`)
        break
      case "attempt":
        this.inFlight++
        this.wait = undefined
        break
      case "response": {
        this.inFlight = Math.max(0, this.inFlight - 1)
        if (typeof e.cost === "string") this.spent += Number(e.cost)
        if (typeof e.status === "number" && e.status < 300) this.advance(String(e.label))
        break
      }
      case "cache-hit":
        this.advance(String(e.label))
        break
      case "waiting":
        if (Number(e.delayMs) >= 1000) {
          const eta = new Date(Number(e.at) + Number(e.delayMs)).toISOString().slice(11, 19)
          this.wait = `${e.label} waits ${duration(Number(e.delayMs) / 1000)} until ${eta}Z: ${e.reason}`
          if (!this.live)
            this.log(`${e.label}: waiting ${duration(Number(e.delayMs) / 1000)}, until ${eta}Z (${e.reason})`)
        }
        break
      case "retry":
        this.log(
          `${e.label}: ${e.reason} (${e.message}); retry ${Number(e.attempt) + 1} in ${duration(Number(e.delayMs) / 1000)}`
        )
        break
      case "stop":
        this.log(`stopping: ${e.message}`)
        break
    }
    this.draw()
  }

  /** One more request of a step finished; in CI, a line at every tenth of a large step. */
  private advance(label: string) {
    const step = label.replace(/\[\d+\]$/, "")
    const t = this.totals.get(step)
    if (t === undefined) return
    t.done++
    const tenth = Math.floor((t.done * 10) / t.total)
    if (!this.live && t.total >= 20 && tenth > Math.floor(((t.done - 1) * 10) / t.total) && t.done < t.total)
      this.log(`step ${step}: ${t.done}/${t.total} (${tenth * 10}%), ${money(this.spent)} spent so far`)
  }

  done(): void {
    if (this.live) this.io.err("\r\x1b[K")
  }
}
