/**
 * Free-model requests per UTC day per API-key fingerprint. Every attempt counts, failed ones too
 * (OpenRouter counts them). Default store: a JSON file per key in the state dir, updated under a
 * cross-process lock and written atomically, so parallel runs on one machine lose no count.
 */
import { mkdirSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { StateDir } from "@tollgate/pricing"
import { Context, Effect, Layer, Schema } from "effect"
import { withFileLock } from "./FileLock.ts"

export class LedgerError extends Schema.TaggedError<LedgerError>()("LedgerError", {
  message: Schema.String
}) {}

export interface ConsumeResult {
  /** The attempts fit under `limit` and were recorded. */
  readonly ok: boolean
  /** Used today after this call (unchanged when not ok). */
  readonly used: number
}

export interface QuotaLedgerShape {
  readonly used: (fingerprint: string, day: string) => Effect.Effect<number, LedgerError>
  /** Atomically records `n` attempts if `used + n <= limit`. */
  readonly consume: (
    fingerprint: string,
    day: string,
    n: number,
    limit: number
  ) => Effect.Effect<ConsumeResult, LedgerError>
}

export class QuotaLedger extends Context.Service<QuotaLedger, QuotaLedgerShape>()(
  "@tollgate/core/QuotaLedger"
) {
  static readonly layerMemory = Layer.sync(QuotaLedger, () => makeMemory())
  static readonly layerFile = (stateDir: string) => Layer.sync(QuotaLedger, () => makeFile(stateDir))
}

export const makeMemory = (): QuotaLedgerShape => {
  const counts = new Map<string, number>()
  return {
    used: (fp, day) => Effect.sync(() => counts.get(`${fp}/${day}`) ?? 0),
    consume: (fp, day, n, limit) =>
      Effect.sync(() => {
        const key = `${fp}/${day}`
        const used = counts.get(key) ?? 0
        if (used + n > limit) return { ok: false, used }
        counts.set(key, used + n)
        return { ok: true, used: used + n }
      })
  }
}

interface LedgerFile {
  readonly version: 1
  readonly days: Record<string, number>
}

const KEEP_DAYS = 7

const read = (path: string): LedgerFile => {
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8")) as LedgerFile
    if (parsed && typeof parsed.days === "object") return parsed
  } catch {
    // missing or damaged: start from zero for the days it held
  }
  return { version: 1, days: {} }
}

const write = (path: string, file: LedgerFile) => {
  const days = Object.keys(file.days).sort().slice(-KEEP_DAYS)
  const trimmed: LedgerFile = { version: 1, days: Object.fromEntries(days.map((d) => [d, file.days[d]!])) }
  StateDir.writeAtomicSync(path, JSON.stringify(trimmed))
}

export const ledgerPath = (stateDir: string, fingerprint: string): string =>
  join(stateDir, "ledger", `${fingerprint}.json`)

export const makeFile = (stateDir: string): QuotaLedgerShape => {
  const guard = <A>(f: () => A | Promise<A>): Effect.Effect<A, LedgerError> =>
    Effect.tryPromise({
      try: async () => f(),
      catch: (e) => new LedgerError({ message: `quota ledger: ${String(e)}` })
    })
  return {
    used: (fp, day) =>
      Effect.try({
        try: () => read(ledgerPath(stateDir, fp)).days[day] ?? 0,
        catch: (e) => new LedgerError({ message: `quota ledger: ${String(e)}` })
      }),
    consume: (fp, day, n, limit) =>
      guard(() => {
        const path = ledgerPath(stateDir, fp)
        mkdirSync(dirname(path), { recursive: true })
        return withFileLock(path, () => {
          const file = read(path)
          const used = file.days[day] ?? 0
          if (used + n > limit) return { ok: false, used }
          write(path, { version: 1, days: { ...file.days, [day]: used + n } })
          return { ok: true, used: used + n }
        })
      })
  }
}
