/**
 * Benchmarks (`pnpm bench`): timings are reported, never asserted. Each prints one line:
 * name, measured value, and what was done, so numbers in docs can be reproduced.
 */
import { performance } from "node:perf_hooks"
import { CatalogStore, Cost, Money } from "@tollgate/pricing"

const results: Array<{ name: string; value: string; detail: string }> = []
const record = (name: string, value: string, detail: string) => {
  results.push({ name, value, detail })
  console.log(`${name.padEnd(36)} ${value.padStart(14)}  ${detail}`)
}

const time = <T>(f: () => T): [T, number] => {
  const t0 = performance.now()
  const out = f()
  return [out, performance.now() - t0]
}

// Catalog: parse + schema-decode the bundled snapshot.
{
  const [catalog, ms] = time(() => CatalogStore.fromFile(CatalogStore.BUNDLED_PATH))
  record("catalog decode (bundled)", `${ms.toFixed(1)} ms`, `${catalog.size} models`)
}

// Cost: exact cost of 100,000 requests, summed exactly.
{
  const catalog = CatalogStore.bundled()
  const model = catalog.resolveOrThrow("google/gemini-3.7-flash").model
  const n = 100_000
  const [total, ms] = time(() => {
    let acc = Money.zero
    for (let i = 0; i < n; i++)
      acc = Money.add(
        acc,
        Cost.cost(model, { promptTokens: 1000 + (i % 97), cacheWriteTokens: 12, completionTokens: 200 }).total
      )
    return acc
  })
  record(
    "cost + exact sum",
    `${((n / ms) * 1000).toFixed(0)} req/s`,
    `${n} requests, total ${Money.format(total)}`
  )
}
