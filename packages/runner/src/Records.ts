/**
 * Run records under `<out-dir>/<run-id>/`: `run.json`, `plan.json`, `events.ndjson` (appended as
 * things happen, so a crash leaves an honest record), `steps/<id>.jsonl` (one line per finished
 * request), `outputs.json`, `summary.json`. A run of the same pipeline, inputs and data that did
 * not complete is resumed in place: its finished requests are reused, never sent again.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { StateDir } from "@tollgate/pricing"

export interface RequestRecord {
  readonly index: number
  readonly key: string
  readonly status: "ok" | "error"
  readonly output?: unknown
  readonly cost_usd?: string
  readonly cost_source?: string
  /** Tokens × catalog prices, recorded beside `usage.cost` for comparison. */
  readonly catalog_cost_usd?: string
  readonly cached?: boolean
  readonly reused?: boolean
  readonly attempts?: number
  readonly usage?: unknown
  readonly model?: string
  readonly error?: string
}

interface RunMeta {
  readonly identity: string
  readonly pipeline: string
  readonly started_at: string
}

const writeJsonAtomic = (path: string, value: unknown) =>
  StateDir.writeAtomicSync(path, `${JSON.stringify(value, null, 2)}\n`)

const runIdFor = (now: Date, identity: string) =>
  `${now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")}-${identity.slice(0, 8)}`

/** The newest run of this identity that has no completed summary, if any. */
const findResumable = (outDir: string, identity: string): string | undefined => {
  let names: string[]
  try {
    names = readdirSync(outDir).sort().reverse()
  } catch {
    return undefined
  }
  for (const name of names) {
    const dir = join(outDir, name)
    try {
      const meta = JSON.parse(readFileSync(join(dir, "run.json"), "utf8")) as RunMeta
      if (meta.identity !== identity) continue
      if (existsSync(join(dir, "summary.json"))) {
        const summary = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8")) as { status?: string }
        if (summary.status === "completed") return undefined // the latest of this identity finished: start anew
      }
      return dir
    } catch {
      // not a run dir
    }
  }
  return undefined
}

export class Records {
  readonly dir: string
  readonly id: string
  readonly resumed: boolean
  /** Finished requests of an earlier, interrupted attempt at this run, by request key. */
  readonly previous: ReadonlyMap<string, RequestRecord>

  private constructor(dir: string, resumed: boolean) {
    this.dir = dir
    this.id = dir.split(/[\\/]/).pop()!
    this.resumed = resumed
    const previous = new Map<string, RequestRecord>()
    if (resumed) {
      let files: string[] = []
      try {
        files = readdirSync(join(dir, "steps"))
      } catch {
        // no step finished
      }
      for (const f of files)
        for (const line of readFileSync(join(dir, "steps", f), "utf8").split("\n")) {
          if (line.trim() === "") continue
          try {
            const r = JSON.parse(line) as RequestRecord
            if (r.status === "ok") previous.set(r.key, r)
          } catch {
            // a line cut short by a kill: that request is simply not reused
          }
        }
    }
    this.previous = previous
  }

  /** Opens the run dir: resumes an unfinished run of the same identity, or starts a new one. */
  static open(outDir: string, identity: string, pipeline: string, now: Date): Records {
    const resumable = findResumable(outDir, identity)
    if (resumable !== undefined) return new Records(resumable, true)
    const dir = join(outDir, runIdFor(now, identity))
    mkdirSync(join(dir, "steps"), { recursive: true })
    writeJsonAtomic(join(dir, "run.json"), {
      identity,
      pipeline,
      started_at: now.toISOString()
    } satisfies RunMeta)
    return new Records(dir, false)
  }

  writePlan(plan: unknown): void {
    writeJsonAtomic(join(this.dir, "plan.json"), plan)
  }

  event(e: Record<string, unknown>): void {
    appendFileSync(
      join(this.dir, "events.ndjson"),
      `${JSON.stringify({ ts: new Date().toISOString(), ...e })}\n`
    )
  }

  request(stepId: string, r: RequestRecord): void {
    mkdirSync(join(this.dir, "steps"), { recursive: true })
    appendFileSync(join(this.dir, "steps", `${stepId}.jsonl`), `${JSON.stringify(r)}\n`)
  }

  writeOutputs(outputs: unknown): void {
    writeJsonAtomic(join(this.dir, "outputs.json"), outputs)
  }

  writeSummary(summary: unknown): void {
    writeJsonAtomic(join(this.dir, "summary.json"), summary)
  }
}
