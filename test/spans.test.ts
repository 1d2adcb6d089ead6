/** What a run traces: its steps always; each request in a span of its own only with TOLLGATE_DEBUG. */
import { runCli as cli } from "@tollgate/runner/cli/Cli"
import { Effect, Layer, Tracer } from "effect"
import { describe, expect, it } from "vitest"
import { captureIo, platform } from "./support/cli.ts"
import { fanOut } from "./support/pipelines.ts"

const spansOf = async (env: Record<string, string>) => {
  const file = fanOut({ model: "openai/gpt-4o-mini", items: 3 })
  const names: string[] = []
  const tracer = Tracer.make({
    span(options) {
      names.push(options.name)
      return new Tracer.NativeSpan(options)
    }
  })
  const io = captureIo({ env, cwd: file.replace(/\/pipeline\.yaml$/, "") })
  const code = await Effect.runPromise(
    cli(["run", "pipeline.yaml", "--echo", "--no-cache", "--format", "json"]).pipe(
      Effect.provide(Layer.mergeAll(platform, io.layer)),
      Effect.withTracer(tracer)
    )
  )
  return { code, names, stderr: io.out.stderr }
}

describe("spans", () => {
  it("a run traces its step; each request gets a span of its own only with TOLLGATE_DEBUG", async () => {
    const plain = await spansOf({})
    expect(plain.code, plain.stderr).toBe(0)
    expect(plain.names).toContain("Step.runStep")
    expect(plain.names).not.toContain("Item.sendItem")
    const debug = await spansOf({ TOLLGATE_DEBUG: "1" })
    expect(debug.code, debug.stderr).toBe(0)
    expect(debug.names.filter((n) => n === "Item.sendItem")).toHaveLength(3)
  })
})
