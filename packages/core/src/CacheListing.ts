/**
 * The keys the cache database held when it was last listed (a plan lists them), with those this
 * process has written since: a key in neither was not there then, and a miss needs no lookup.
 * Another connection's commit since makes the listing stale, and SQLite says so: `PRAGMA
 * data_version` moves only for other connections' commits. That is asked at most every
 * `RECHECK_MS`, not per lookup (in a run it cost 10-70 us, several lookups). A key another process
 * wrote in that time may be missed: the same race as two processes sending one request at once
 * (a request to a model takes longer than that), which no cache closes. Once stale, the listing
 * answers nothing again. Pure but for the version it is given.
 */

/** How long a reading of the database's version is trusted. */
export const RECHECK_MS = 50

export class CacheListing {
  private readonly added = new Set<string>()
  private readonly keys: ReadonlySet<string>
  private readonly version: number
  private readonly versionNow: () => number
  private stale = false
  private checkedAt: number

  /** `version`: read before the keys were, so a commit between the two makes the listing stale. */
  constructor(keys: ReadonlySet<string>, version: number, versionNow: () => number, nowMs: number) {
    this.keys = keys
    this.version = version
    this.versionNow = versionNow
    this.checkedAt = nowMs
  }

  /** True when the key surely was not in the database: not listed, not written since, and nothing else committed. */
  surelyAbsent(key: string, nowMs: number): boolean {
    if (this.stale || this.keys.has(key) || this.added.has(key)) return false
    if (nowMs - this.checkedAt >= RECHECK_MS) {
      this.checkedAt = nowMs
      this.stale = this.versionNow() !== this.version
    }
    return !this.stale
  }

  /** This process wrote the key (its own commits do not move the version). */
  wrote(key: string): void {
    if (!this.stale) this.added.add(key)
  }
}
