/**
 * Files a run appends lines to (its events, each step's records), each opened once and kept open
 * until the run ends. A line reaches the kernel in one `write` before `append` returns, as with
 * `appendFileSync`, so a killed process loses no line it wrote; it no longer opens and closes the
 * file for every line (three times per request: a third of a run's own time per request).
 */
import * as SyncFiles from "@tollgate/core/SyncFiles"

export class AppendLog {
  private readonly open = new Map<string, SyncFiles.AppendFile>()

  /** Appends `text` to the file at `path` (created when missing). */
  append(path: string, text: string): void {
    let file = this.open.get(path)
    if (file === undefined) {
      file = SyncFiles.openAppend(path)
      this.open.set(path, file)
    }
    file.write(text)
  }

  /** Closes every file; a later `append` opens its file again. */
  close(): void {
    for (const file of this.open.values()) file.close()
    this.open.clear()
  }
}
