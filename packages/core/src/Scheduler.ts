/**
 * Runs a DAG of steps. A step starts when every step it needs has finished; independent steps
 * run at once. Within a step, items (a fan-out) stream through `forEachBounded`: bounded
 * concurrency, each result delivered as it finishes, and only a window of items in memory, so a
 * 100,000-item step does not hold 100,000 fibers or results. The run-wide bound on requests in
 * flight is a `Semaphore` the engine holds around each send (`Engine.Job.inflight`), so waiting
 * steps take turns (FIFO permits) and a step sleeping for its rate limit holds none.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"

export interface Node<A, E, R> {
  readonly id: string
  readonly needs: ReadonlyArray<string>
  readonly run: Effect.Effect<A, E, R>
}

export class CycleError extends Error {
  override readonly name = "CycleError"
}

type GraphNode = { readonly id: string; readonly needs: ReadonlyArray<string> }

/** Depth-first over the nodes: dependencies first; stops at the first cycle. Needs on unknown ids are ignored. */
const walk = (nodes: ReadonlyArray<GraphNode>): { order: string[]; cycle: string[] | undefined } => {
  const byId = new Map(nodes.map((n) => [n.id, n]))
  const state = new Map<string, "visiting" | "done">()
  const order: string[] = []
  const path: string[] = []
  const visit = (id: string): string[] | undefined => {
    const s = state.get(id)
    if (s === "done") return undefined
    if (s === "visiting") return [...path.slice(path.indexOf(id)), id]
    state.set(id, "visiting")
    path.push(id)
    for (const dep of byId.get(id)?.needs ?? []) {
      const cycle = byId.has(dep) ? visit(dep) : undefined
      if (cycle !== undefined) return cycle
    }
    path.pop()
    state.set(id, "done")
    order.push(id)
    return undefined
  }
  for (const n of nodes) {
    const cycle = visit(n.id)
    if (cycle !== undefined) return { order, cycle }
  }
  return { order, cycle: undefined }
}

/** A cycle among the nodes, as a path of ids with the first repeated last; undefined when there is none. Pure. */
export const findCycle = (nodes: ReadonlyArray<GraphNode>): string[] | undefined => walk(nodes).cycle

/** Topological order of the nodes; throws `CycleError` naming a cycle. Pure. */
export const topoOrder = (nodes: ReadonlyArray<GraphNode>): string[] => {
  const { order, cycle } = walk(nodes)
  if (cycle !== undefined) throw new CycleError(`cycle: ${cycle.join(" -> ")}`)
  return order
}

/** Runs every node once its needs are done; fails with the first failure (dependents do not start). */
export const runDag = <A, E, R>(
  nodes: ReadonlyArray<Node<A, E, R>>
): Effect.Effect<ReadonlyMap<string, A>, E, R> =>
  Effect.gen(function* () {
    topoOrder(nodes)
    const done = new Map<string, Deferred.Deferred<A, E>>()
    for (const n of nodes) done.set(n.id, yield* Deferred.make<A, E>())
    const results = new Map<string, A>()
    yield* Effect.forEach(
      nodes,
      (n) =>
        Effect.gen(function* () {
          for (const dep of n.needs) {
            const d = done.get(dep)
            if (d !== undefined) yield* Deferred.await(d)
          }
          const a = yield* n.run
          results.set(n.id, a)
          return a
        }).pipe(Effect.onExit((exit) => Deferred.done(done.get(n.id)!, exit))),
      { concurrency: "unbounded", discard: true }
    )
    return results as ReadonlyMap<string, A>
  })

/**
 * Applies `f` to each item with at most `concurrency` at once and hands each result to `sink`
 * with its index as soon as it finishes (completion order): a slow item holds back neither the
 * items after it nor their results. Items are pulled lazily from the iterable: `concurrency`
 * workers each take the next item when the last is done, so an item costs no fiber or queue of
 * its own. Each worker hands its own results to `sink`, so two sinks may overlap when one waits;
 * a worker takes its next item once its sink is done. The first failure of `f` or `sink`
 * interrupts the other workers.
 */
export const forEachBounded = <T, A, E, R, E2, R2>(
  items: Iterable<T>,
  f: (item: T, index: number) => Effect.Effect<A, E, R>,
  sink: (result: A, index: number) => Effect.Effect<void, E2, R2>,
  concurrency: number
): Effect.Effect<void, E | E2, R | R2> =>
  Effect.suspend(() => {
    const it = items[Symbol.iterator]()
    let index = 0
    let exhausted = false
    const worker: Effect.Effect<void, E | E2, R | R2> = Effect.suspend(() => {
      const next = exhausted ? undefined : it.next()
      if (next === undefined || next.done === true) {
        exhausted = true
        return Effect.void
      }
      const i = index++
      return Effect.andThen(
        Effect.flatMap(f(next.value, i), (a) => sink(a, i)),
        worker
      )
    })
    const workers = Array.from({ length: Math.max(1, concurrency) }, () => worker)
    return Effect.all(workers, { concurrency: "unbounded", discard: true })
  })
