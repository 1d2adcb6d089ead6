/**
 * The `runner` command line: parses flags and hands typed options to a command. Every command
 * returns an exit code; expected failures are `ExitError`s, printed as one line, no stack.
 */
import { type ParseArgsConfig, parseArgs } from "node:util"
import { CatalogStore } from "@tollgate/pricing"
import { cost, parseCount } from "./commands/cost.ts"
import { models, refresh } from "./commands/models.ts"
import { plan } from "./commands/plan.ts"
import { quota } from "./commands/quota.ts"
import { run } from "./commands/run.ts"
import { validate } from "./commands/validate.ts"
import type { InputOverride } from "./Inputs.ts"
import { ExitError, type Io, usage } from "./Io.ts"
import { checkStoreUrl } from "./Stores.ts"

export const HELP = `runner: plan and run YAML prompt pipelines within a budget

usage:
  runner validate <pipeline.yaml> [--input NAME=VALUE]...
  runner plan <pipeline.yaml> [--input NAME=VALUE]... [--format table|json|markdown] [--out plan.json]
              [--max-cost USD] [--base-url URL] [--no-cache] [--store redis://HOST:PORT]
  runner run <pipeline.yaml | plan.json> [--input NAME=VALUE]... [--format table|json|markdown]
              [--max-cost USD] [--base-url URL | --echo] [--no-cache] [--offline]
              [--concurrency N] [--out-dir DIR] [--store redis://HOST:PORT]
  runner quota [pipeline.yaml] [--credits-purchased USD] [--format table|json] [--store redis://HOST:PORT]
  runner models [--free] [--search TEXT] [--format table|json|markdown]
  runner models refresh [--base-url URL]
  runner cost <model> --prompt-tokens N --completion-tokens M
              [--reasoning-tokens R] [--cached-tokens C] [--format table|json]

exit codes: 0 ok, 1 runtime failure, 2 invalid input (nothing sent), 3 budget or quota gate, 130 interrupted
state dir: $TOLLGATE_HOME, else $XDG_STATE_HOME/tollgate, else ~/.local/state/tollgate
`

type Options = NonNullable<ParseArgsConfig["options"]>

const parse = (args: ReadonlyArray<string>, options: Options) => {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true })
  } catch (e) {
    throw usage(
      `${(e as Error).message.replace(/\. To specify a positional argument.*$/s, "")} (see \`runner --help\`)`
    )
  }
}

const FORMATS = ["table", "json", "markdown"] as const
type Format = (typeof FORMATS)[number]
const format = (value: unknown): Format => {
  if (value === undefined) return "table"
  if (typeof value === "string" && (FORMATS as ReadonlyArray<string>).includes(value)) return value as Format
  throw usage(`--format: expected one of table, json, markdown; got "${String(value)}"`)
}

const usd = (flag: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined
  const n = Number(text)
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !Number.isFinite(n))
    throw usage(`--${flag}: expected an amount in USD such as 0.50, got "${text}"`)
  return n
}

/** `--store URL`, else `$TOLLGATE_STORE`; checked, never printed with its password. */
const storeUrl = (io: Io, flag: unknown): string | undefined => {
  const url = str(flag) ?? (io.env.TOLLGATE_STORE || undefined)
  if (url === undefined) return undefined
  const problem = checkStoreUrl(url)
  if (problem !== undefined) throw usage(problem)
  return url
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined)

/** `--input NAME=VALUE` (repeatable; `NAME=@file` reads a data file). */
const inputOverrides = (raw: unknown): InputOverride[] =>
  (Array.isArray(raw) ? raw : []).map((text: string) => {
    const eq = text.indexOf("=")
    if (eq <= 0) throw usage(`--input ${text}: expected NAME=VALUE or NAME=@file.jsonl`)
    return { name: text.slice(0, eq), raw: text.slice(eq + 1) }
  })

const onePipeline = (command: string, positionals: ReadonlyArray<string>): string => {
  if (positionals.length !== 1)
    throw usage(
      `runner ${command} needs exactly one pipeline file, e.g. \`runner ${command} examples/digest.yaml\``
    )
  return positionals[0]!
}

const commands: Record<string, (io: Io, args: ReadonlyArray<string>) => Promise<number>> = {
  models: async (io, args) => {
    const { values, positionals } = parse(args, {
      free: { type: "boolean" },
      search: { type: "string" },
      format: { type: "string" },
      "base-url": { type: "string" }
    })
    if (positionals[0] === "refresh") {
      if (positionals.length > 1)
        throw usage(`runner models refresh takes no arguments, got "${positionals[1]}"`)
      return refresh(
        io,
        str(values["base-url"]) ?? io.env.OPENROUTER_BASE_URL ?? CatalogStore.DEFAULT_BASE_URL
      )
    }
    if (positionals.length > 0)
      throw usage(`runner models: unexpected argument "${positionals[0]}" (did you mean --search?)`)
    return models(io, {
      free: values.free === true,
      search: str(values.search),
      format: format(values.format)
    })
  },
  validate: async (io, args) => {
    const { values, positionals } = parse(args, { input: { type: "string", multiple: true } })
    return validate(io, onePipeline("validate", positionals), inputOverrides(values.input))
  },
  plan: async (io, args) => {
    const { values, positionals } = parse(args, {
      input: { type: "string", multiple: true },
      format: { type: "string" },
      out: { type: "string" },
      "base-url": { type: "string" },
      "max-cost": { type: "string" },
      "no-cache": { type: "boolean" },
      store: { type: "string" }
    })
    return plan(io, {
      file: onePipeline("plan", positionals),
      inputs: inputOverrides(values.input),
      format: format(values.format),
      out: str(values.out),
      baseUrl: str(values["base-url"]),
      maxCostUsd: usd("max-cost", str(values["max-cost"])),
      noCache: values["no-cache"] === true,
      store: storeUrl(io, values.store)
    })
  },
  run: async (io, args) => {
    const { values, positionals } = parse(args, {
      input: { type: "string", multiple: true },
      format: { type: "string" },
      "base-url": { type: "string" },
      "max-cost": { type: "string" },
      "no-cache": { type: "boolean" },
      offline: { type: "boolean" },
      concurrency: { type: "string" },
      "out-dir": { type: "string" },
      echo: { type: "boolean" },
      store: { type: "string" }
    })
    const concurrency = str(values.concurrency)
    if (concurrency !== undefined && !/^[1-9]\d{0,2}$/.test(concurrency))
      throw usage(`--concurrency: expected a whole number from 1 to 999, got "${concurrency}"`)
    return run(io, {
      file: onePipeline("run", positionals),
      inputs: inputOverrides(values.input),
      format: format(values.format),
      baseUrl: values.echo === true ? "echo:" : str(values["base-url"]),
      maxCostUsd: usd("max-cost", str(values["max-cost"])),
      noCache: values["no-cache"] === true,
      offline: values.offline === true,
      concurrency: concurrency !== undefined ? Number(concurrency) : undefined,
      outDir: str(values["out-dir"]),
      store: storeUrl(io, values.store)
    })
  },
  quota: async (io, args) => {
    const { values, positionals } = parse(args, {
      format: { type: "string" },
      "credits-purchased": { type: "string" },
      store: { type: "string" }
    })
    if (positionals.length > 1) throw usage("runner quota takes at most one pipeline file")
    return quota(io, {
      file: positionals[0],
      creditsPurchasedUsd: usd("credits-purchased", str(values["credits-purchased"])),
      format: format(values.format),
      now: new Date(),
      store: storeUrl(io, values.store)
    })
  },
  cost: async (io, args) => {
    const { values, positionals } = parse(args, {
      "prompt-tokens": { type: "string" },
      "completion-tokens": { type: "string" },
      "reasoning-tokens": { type: "string" },
      "cached-tokens": { type: "string" },
      format: { type: "string" }
    })
    if (positionals.length !== 1)
      throw usage(
        "runner cost needs exactly one model id, e.g. `runner cost openai/gpt-4o-mini --prompt-tokens 1000 --completion-tokens 500`"
      )
    return cost(io, {
      model: positionals[0]!,
      usage: {
        promptTokens: parseCount("prompt-tokens", str(values["prompt-tokens"]), true)!,
        completionTokens: parseCount("completion-tokens", str(values["completion-tokens"]), true)!,
        reasoningTokens: parseCount("reasoning-tokens", str(values["reasoning-tokens"]), false),
        cachedTokens: parseCount("cached-tokens", str(values["cached-tokens"]), false)
      },
      format: format(values.format),
      at: new Date()
    })
  }
}

/** Runs the CLI on `argv` (without node and script) and returns the exit code. */
export const main = async (argv: ReadonlyArray<string>, io: Io): Promise<number> => {
  const [name, ...rest] = argv
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.out(HELP)
    return name === undefined ? 2 : 0
  }
  if (name === "--version") {
    io.out("runner 0.1.0\n")
    return 0
  }
  const command = commands[name]
  try {
    if (command === undefined)
      throw usage(
        `unknown command "${name}"; commands: ${Object.keys(commands).join(", ")} (see \`runner --help\`)`
      )
    return await command(io, rest)
  } catch (e) {
    if (e instanceof ExitError) {
      io.err(`error: ${e.message}\n`)
      return e.code
    }
    io.err(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
    return 1
  }
}
