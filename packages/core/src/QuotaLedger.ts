/**
 * Free-model requests per UTC day per API-key fingerprint. Every attempt counts, failed ones too
 * (OpenRouter counts them). Default store: a JSON file per key in the state dir, updated under a
 * cross-process lock and written atomically, so parallel runs on one machine lose no count.
 */
import { dirname, join } from "node:path"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { withFileLock } from "./FileLock.ts"
import * as SyncFiles from "./SyncFiles.ts"

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
  /**
   * Atomically records `n` attempts if `used + n <= limit`. A shared ledger also keeps `id`, so
   * a count whose answer was lost (the store died mid-call) can be taken back by `refund`.
   */
  readonly consume: (
    fingerprint: string,
    day: string,
    n: number,
    limit: number,
    id?: string
  ) => Effect.Effect<ConsumeResult, LedgerError>
  /** Takes back the count made as `id` if the store applied it; true when it did. */
  readonly refund: (fingerprint: string, day: string, id: string) => Effect.Effect<boolean, LedgerError>
}

/** A local ledger always hears its answer: nothing to take back. */
const noRefund = () => Effect.succeed(false)

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
      }),
    refund: noRefund
  }
}

/** The ledger file: free-model requests per UTC day (`YYYY-MM-DD`). */
const LedgerFile = Schema.Struct({
  version: Schema.Literal(1),
  days: Schema.Record(Schema.String, Schema.Int.pipe(Schema.check(Schema.isGreaterThanOrEqualTo(0))))
})
type LedgerFile = typeof LedgerFile.Type
const decodeLedger = Schema.decodeUnknownExit(Schema.fromJsonString(LedgerFile))

const KEEP_DAYS = 7

/** The ledger's counts; a missing file is an empty ledger, a damaged one an error (never a silent zero). */
const read = (path: string): LedgerFile => {
  let text: string | undefined
  try {
    text = SyncFiles.readText(path)
  } catch (e) {
    throw new LedgerError({ message: `cannot read the quota ledger ${path}: ${(e as Error).message}` })
  }
  if (text === undefined) return { version: 1, days: {} }
  const decoded = decodeLedger(text)
  if (Exit.isSuccess(decoded)) return decoded.value
  throw new LedgerError({
    message: `the quota ledger ${path} is damaged (not a ledger of daily counts); move it aside to start counting from zero (the provider still enforces its own daily cap)`
  })
}

const write = (path: string, file: LedgerFile) => {
  const days = Object.keys(file.days).sort().slice(-KEEP_DAYS)
  const trimmed: LedgerFile = { version: 1, days: Object.fromEntries(days.map((d) => [d, file.days[d]!])) }
  SyncFiles.writeAtomic(path, JSON.stringify(trimmed))
}

export const ledgerPath = (stateDir: string, fingerprint: string): string =>
  join(stateDir, "ledger", `${fingerprint}.json`)

const asLedgerError = (e: unknown): LedgerError =>
  e instanceof LedgerError
    ? e
    : new LedgerError({ message: `quota ledger: ${String((e as Error).message ?? e)}` })

export const makeFile = (stateDir: string): QuotaLedgerShape => ({
  used: (fp, day) =>
    Effect.try({ try: () => read(ledgerPath(stateDir, fp)).days[day] ?? 0, catch: asLedgerError }),
  consume: (fp, day, n, limit) => {
    const path = ledgerPath(stateDir, fp)
    const count = Effect.try({
      try: () => {
        const file = read(path)
        const used = file.days[day] ?? 0
        if (used + n > limit) return { ok: false, used }
        write(path, { version: 1, days: { ...file.days, [day]: used + n } })
        return { ok: true, used: used + n }
      },
      catch: asLedgerError
    })
    return Effect.try({
      try: () => SyncFiles.makeDir(dirname(path)),
      catch: asLedgerError
    }).pipe(Effect.andThen(withFileLock(path, count)), Effect.mapError(asLedgerError))
  },
  refund: noRefund
})
