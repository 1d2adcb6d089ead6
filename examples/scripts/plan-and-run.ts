/**
 * Plan a pipeline, check the budget, then run it, from code.
 * `node examples/scripts/plan-and-run.ts` (uses the local echo provider: no key, no network).
 */
import { Promises } from "@tollgate/runner"

const file = new URL("../extract-invoices.yaml", import.meta.url).pathname
const plan = await Promises.plan(file)
console.log(`plan: ${plan.requests.max} requests, at most $${plan.cost_usd.max}; ok=${plan.ok}`)
if (!plan.ok) process.exit(3)
const result = await Promises.run(file, { baseUrl: "echo:", outDir: "/tmp/tollgate-example-runs" })
if (result.kind === "ran")
  console.log(
    `run: ${result.summary.status}, spent $${result.summary.actual.cost_usd}`,
    result.summary.outputs
  )
else console.log(`not run: ${result.kind}`)
