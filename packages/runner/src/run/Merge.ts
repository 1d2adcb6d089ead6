/**
 * `runner merge`: finds the shard runs of a split run under a directory (as a CI merge job
 * downloads them: any depth up to three), checks that every shard completed and every item of
 * every split step was answered exactly once, by the shard that holds it, and hands the merge
 * their answers and spending. Reads files only.
 */
import { join } from "node:path"
import * as Money from "@tollgate/pricing/Money"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import { type Finished, readFinished, readMeta, readStatus, stepRecords } from "./Records.ts"
import type { RequestRecord } from "./RequestRecord.ts"
import { holds, label, type StepRole, shardOf } from "./Shards.ts"
import { RecordDamage } from "./Spending.ts"

interface ShardRun {
  readonly dir: string
  readonly index: number
  readonly count: number
}

/** The run dirs (those holding a `run.json`) under `dir`, `depth` folders down at most. */
const runDirs = (
  fs: FileSystem.FileSystem,
  dir: string,
  depth: number
): Effect.Effect<ReadonlyArray<string>> =>
  Effect.gen(function* () {
    const names = [...(yield* fs.readDirectory(dir).pipe(Effect.orElseSucceed(() => [])))].sort()
    const found: string[] = []
    for (const name of names) {
      if (name === "run.json") found.push(dir)
      if (name === "run.json" || depth === 0 || name.startsWith(".") || name === "steps") continue
      const path = join(dir, name)
      const info = yield* fs.stat(path).pipe(Effect.orElseSucceed(() => undefined))
      if (info?.type === "Directory") found.push(...(yield* runDirs(fs, path, depth - 1)))
    }
    return found
  })

/**
 * The newest run of each shard of `base` under `dir` (run ids sort by start time). `legacyBase`:
 * the base an earlier runner gave the same run (taken only when a shard of another base is there).
 */
const shardRuns = (
  dirs: ReadonlyArray<string>,
  base: string,
  legacyBase: (() => string) | undefined
): ShardRun[] => {
  const newest = new Map<number, ShardRun & { readonly id: string }>()
  let legacy: string | undefined
  const isBase = (b: string | undefined): boolean => {
    if (b === base) return true
    if (b === undefined || legacyBase === undefined) return false
    legacy ??= legacyBase()
    return b === legacy
  }
  for (const runDir of dirs) {
    const meta = readMeta(runDir)
    if (meta?.shard === undefined || !isBase(meta.base)) continue
    const id = runDir.split(/[\\/]/).at(-1)!
    const seen = newest.get(meta.shard.index)
    if (seen === undefined || seen.id < id) newest.set(meta.shard.index, { dir: runDir, id, ...meta.shard })
  }
  return [...newest.values()].sort((a, b) => a.index - b.index)
}

/** Why the shards cannot be merged yet, or undefined. */
const incomplete = (runs: ReadonlyArray<ShardRun>, dir: string): string | undefined => {
  if (runs.length === 0) return `no shard runs of this pipeline under ${dir} (run it with --shard i/n first)`
  const counts = new Set(runs.map((r) => r.count))
  if (counts.size > 1)
    return `shard runs under ${dir} split the run differently (${[...counts].join(" and ")} shards)`
  const count = runs[0]!.count
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter(
    (i) => !runs.some((r) => r.index === i)
  )
  if (missing.length > 0)
    return `shard${missing.length > 1 ? "s" : ""} ${missing.map((i) => `${i}/${count}`).join(", ")} missing under ${dir}`
  const unfinished = runs.filter((r) => readStatus(r.dir) !== "completed")
  if (unfinished.length > 0)
    return `shard ${unfinished.map((r) => `${r.index}/${count}`).join(", ")} did not complete: run it again with --shard (it resumes), then merge`
  return undefined
}

/** An item of a split step answered by a shard that does not hold it, or by two shards. */
const misplaced = (
  runs: ReadonlyArray<ShardRun>,
  roles: ReadonlyMap<string, StepRole>
): string | undefined => {
  for (const [step, role] of roles) {
    if (role !== "split") continue
    const by = new Map<number, number>()
    for (const run of runs)
      for (const r of stepRecords(run.dir, step)) {
        const shard = { index: run.index, count: run.count }
        if (!holds(shard, r.index))
          return `step "${step}" item ${r.index} was answered by shard ${label(shard)}, not ${label(shardOf(r.index, run.count))}`
        const twice = by.get(r.index)
        if (twice !== undefined && twice !== run.index)
          return `step "${step}" item ${r.index} was answered by shards ${twice} and ${run.index}`
        by.set(r.index, run.index)
      }
  }
  return undefined
}

/**
 * A step every shard ran must have answered alike in all of them: its reply may shape the split
 * steps' requests (a fan-out over it), and a merge can only join items built from one answer.
 * Shards that share a `--store` share the cached reply.
 */
const divergent = (
  runs: ReadonlyArray<ShardRun>,
  roles: ReadonlyMap<string, StepRole>
): string | undefined => {
  for (const [step, role] of roles) {
    if (role !== "every-shard") continue
    const answers = runs.map((run) =>
      JSON.stringify(
        stepRecords(run.dir, step)
          .map((r) => [r.index, r.key, r.output])
          .sort()
      )
    )
    const differs = answers.findIndex((a) => a !== answers[0])
    if (differs > 0)
      return `step "${step}" answered differently in shards ${runs[0]!.index} and ${runs[differs]!.index}; the split steps were built on different answers. Run the shards with a shared --store (one cached answer), then merge`
  }
  return undefined
}

/** The shards' answers and spending, or why they cannot be merged. */
export const joinShards = Effect.fnUntraced(function* (
  dir: string,
  shown: string,
  base: string,
  roles: ReadonlyMap<string, StepRole>,
  legacyBase?: () => string
) {
  const dirs = yield* runDirs(yield* FileSystem.FileSystem, dir, 3)
  return joinRuns(shardRuns(dirs, base, legacyBase), shown, roles)
})

const joinRuns = (
  runs: ReadonlyArray<ShardRun>,
  shown: string,
  roles: ReadonlyMap<string, StepRole>
): { readonly count: number; readonly seed: Finished } | string => {
  const problem = incomplete(runs, shown) ?? misplaced(runs, roles) ?? divergent(runs, roles)
  if (problem !== undefined) return problem
  const previous = new Map<string, RequestRecord>()
  let spent = Money.zero
  for (const run of runs) {
    let f: ReturnType<typeof readFinished>
    try {
      f = readFinished(run.dir)
    } catch (e) {
      if (e instanceof RecordDamage) return `damaged shard records: ${e.message}`
      throw e
    }
    for (const [key, r] of f.previous) previous.set(key, r)
    spent = Money.add(spent, f.spent)
  }
  return { count: runs[0]!.count, seed: { previous, spent } }
}
