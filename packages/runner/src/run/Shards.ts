/**
 * Splitting one run across machines (`runner run --shard i/n`) and joining it (`runner merge`).
 * A fan-out that reads no split step is split: shard i runs the items whose index % n == i - 1.
 * A step that reads a split step needs all its items: it waits for the merge. Every other step
 * runs in every shard (a fan-out may read it; with a shared `--store` its reply is cached once).
 * Pure.
 */
import { dependencies, order } from "../dsl/Graph.ts"
import type { Pipeline } from "../dsl/Pipeline.ts"

export interface Shard {
  /** 1-based. */
  readonly index: number
  readonly count: number
}

export type StepRole = "split" | "after-merge" | "every-shard"

/** `2/4` → shard 2 of 4; else why not. */
export const parseShard = (text: string): Shard | string => {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim())
  if (m === null) return `--shard ${text}: expected i/n, e.g. 2/4`
  const [index, count] = [Number(m[1]), Number(m[2])]
  if (count < 1 || count > 1000) return `--shard ${text}: n must be between 1 and 1000`
  if (index < 1 || index > count) return `--shard ${text}: i must be between 1 and ${count}`
  return { index, count }
}

export const label = (s: Shard): string => `${s.index}/${s.count}`

/** Each step's part in a split run. */
export const stepRoles = (pipeline: Pipeline): ReadonlyMap<string, StepRole> => {
  const roles = new Map<string, StepRole>()
  for (const step of order(pipeline)) {
    const readsSplit = dependencies(step).some((d) => (roles.get(d) ?? "every-shard") !== "every-shard")
    roles.set(step.id, readsSplit ? "after-merge" : step.forEach !== undefined ? "split" : "every-shard")
  }
  return roles
}

/** The item `index` of a split step belongs to this shard. */
export const holds = (s: Shard, index: number): boolean => index % s.count === s.index - 1

/** The shard that runs item `index` of a split step. */
export const shardOf = (index: number, count: number): Shard => ({ index: (index % count) + 1, count })

/** A run that is one shard of a split run, or the merge that joins them. */
export type Split =
  | { readonly kind: "shard"; readonly shard: Shard; readonly roles: ReadonlyMap<string, StepRole> }
  | { readonly kind: "merge"; readonly count: number; readonly roles: ReadonlyMap<string, StepRole> }

/** The item positions of a step this run sends: all, or the shard's share of a split step. */
export const itemIndices = (split: Split | undefined, stepId: string, total: number): number[] => {
  const all = Array.from({ length: total }, (_, i) => i)
  if (split?.kind !== "shard" || split.roles.get(stepId) !== "split") return all
  return all.filter((i) => holds(split.shard, i))
}
