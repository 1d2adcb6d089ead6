/**
 * A memo of token counts by text digest, kept in the state dir (`token-counts.json`). Counting
 * needs the o200k tables (~170 ms and ~70 MB to load); a plan whose texts were all counted before
 * (the CI job planning on every push) answers from the memo and never loads them. Counts are a
 * pure function of the text, so a lost or damaged memo only costs time: it is read as empty, and
 * a failed write is ignored. Only digests and counts are stored, never text.
 */
import { hash } from "node:crypto"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import * as StateDir from "@tollgate/core/StateDir"
import { expectedTokens } from "./Tokens.ts"

/**
 * The memo keeps the most recently used counts, up to this many (about 3 MB on disk), and always
 * every count the latest plan used, so a plan of more texts than that is all memo the next time.
 */
export const MAX_ENTRIES = 50_000
const FORMAT = 1

export interface TokenCounts {
  /** The expected tokens of a text, from the memo or counted (and remembered). */
  readonly expected: (text: string) => number
  /** Writes the memo if anything was added; best effort. */
  readonly save: () => void
}

export const fileOf = (stateDir: string): string => join(stateDir, "token-counts.json")

const digest = (text: string): string => hash("sha256", text, "base64url").slice(0, 22)

const read = (file: string): Map<string, number> => {
  try {
    const doc = JSON.parse(readFileSync(file, "utf8")) as { format?: unknown; counts?: unknown }
    if (doc.format !== FORMAT || typeof doc.counts !== "object" || doc.counts === null) return new Map()
    const entries = Object.entries(doc.counts as Record<string, unknown>)
    return new Map(
      entries.filter((e): e is [string, number] => Number.isInteger(e[1]) && (e[1] as number) >= 0)
    )
  } catch {
    return new Map()
  }
}

export interface Options {
  /** The counter behind the memo (default: the tokenizer). */
  readonly count?: (text: string) => number
  readonly maxEntries?: number
}

/** The memo in `file`. */
export const open = (file: string, options: Options = {}): TokenCounts => {
  const { count = expectedTokens, maxEntries = MAX_ENTRIES } = options
  const memo = read(file)
  /** Counts this process used or added: the cap keeps them over ones no recent plan needed. */
  const used = new Map<string, number>()
  let added = false
  return {
    expected: (text) => {
      if (text === "") return 0
      const key = digest(text)
      const n = used.get(key) ?? memo.get(key) ?? count(text)
      if (!used.has(key)) used.set(key, n)
      if (!memo.has(key)) added = true
      return n
    },
    save: () => {
      if (!added) return
      const older = [...memo].filter(([k]) => !used.has(k))
      // the plan's own counts all stay (a bound that scales with the job); older ones fill up to the cap
      const kept = [...older, ...used].slice(-Math.max(maxEntries, used.size))
      try {
        StateDir.writeAtomicSync(file, JSON.stringify({ format: FORMAT, counts: Object.fromEntries(kept) }))
        added = false
      } catch {
        // a read-only state dir: counting again next time is the only cost
      }
    }
  }
}
