/** Flags several commands share (their checks are in `handlers/Parse.ts`, loaded with the handlers). */
import { Argument, Flag } from "effect/cli"

export const pipeline = Argument.String("pipeline").pipe(
  Argument.withDescription("the pipeline file (pipeline.yaml)")
)

export const input = Flag.String("input").pipe(
  Flag.withMetavar("NAME=VALUE"),
  Flag.withDescription(
    "set an input: NAME=VALUE, or NAME=@file.jsonl|.json|.csv to read a data file (repeatable)"
  ),
  Flag.atLeast(0)
)

/** How a command prints its result. */
export type Format = "table" | "json" | "markdown"

export const format = Flag.Literals("format", ["table", "json", "markdown"]).pipe(
  Flag.withDescription("output: a table for people, json for programs, markdown for a PR comment"),
  Flag.withDefault("table")
)

export const maxCost = Flag.String("max-cost").pipe(
  Flag.withMetavar("USD"),
  Flag.withDescription("tighten budget.max_cost_usd to this many USD, e.g. 0.50"),
  Flag.optional
)

export const deadline = Flag.String("deadline").pipe(
  Flag.withMetavar("WHEN"),
  Flag.withDescription(
    "when the job must be done: an instant (2026-12-05T09:00Z) or a duration from now (36h); free first, steps with overflow pay for the rest (overrides the pipeline's deadline)"
  ),
  Flag.optional
)

export const baseUrl = Flag.String("base-url").pipe(
  Flag.withMetavar("URL"),
  Flag.withDescription(
    "send to this OpenAI-compatible endpoint instead of provider.base_url (echo: answers locally)"
  ),
  Flag.optional
)

export const providerKind = Flag.Literals("provider-kind", ["openrouter", "openai"]).pipe(
  Flag.withDescription(
    "which vendor's fields and calls the endpoint takes, overriding provider.kind: openrouter (default) or openai (chat-completions fields only)"
  ),
  Flag.optional
)

export const noCache = Flag.Boolean("no-cache").pipe(
  Flag.withDescription("ignore the response cache (neither read nor written)"),
  Flag.withDefault(false)
)

export const outDir = Flag.String("out-dir").pipe(
  Flag.withMetavar("DIR"),
  Flag.withDescription(
    "where run records go (default .tollgate/runs): an unfinished run there resumes, and plan learns from the runs there"
  ),
  Flag.optional
)

export const store = Flag.String("store").pipe(
  Flag.withMetavar("URL"),
  Flag.withDescription(
    "redis://HOST:PORT: share limits, quota ledger, cache and budget pools (default $TOLLGATE_STORE, else the state dir)"
  ),
  Flag.optional
)

/** `--settle-timeout`: how long `run` and `reconcile` wait for the provider's bill. */
export const settleTimeout = Flag.String("settle-timeout").pipe(
  Flag.withMetavar("DURATION"),
  Flag.withDescription(
    "how long to ask OpenRouter's /generation for the bills of the run's paid answers (they appear seconds after each answer; default 20s)"
  ),
  Flag.optional
)

/** `--fail-on-increase` and `--fail-on`: the policy on a cost diff. */
export const failOnIncrease = Flag.String("fail-on-increase").pipe(
  Flag.withMetavar("PCT%|USD"),
  Flag.withDescription(
    "with a diff: exit 3 when the cost goes up by more than this, in percent of the base (10%) or in USD (0.50)"
  ),
  Flag.optional
)
export const failOn = Flag.Literals("fail-on", ["expected", "max"]).pipe(
  Flag.withDescription("which cost --fail-on-increase compares (default expected)"),
  Flag.withDefault("expected")
)
/** `--link URL`: the run a PR comment links to (default: the GitHub Actions run, from its variables). */
export const link = Flag.String("link").pipe(
  Flag.withMetavar("URL"),
  Flag.withDescription(
    "the run the markdown diff links to (default: this GitHub Actions run, when its variables are set)"
  ),
  Flag.optional
)
/** `--json-file FILE`: this invocation's JSON document, besides what is printed. */
export const jsonFile = Flag.String("json-file").pipe(
  Flag.withMetavar("FILE"),
  Flag.withDescription(
    "also write this command's JSON (the plan, the run summary, or the diff) to FILE, whatever --format prints"
  ),
  Flag.optional
)

/** What `plan --compare` and `diff` share: the policy, the run to link to, the JSON file. */
export const compareFlags = { failOnIncrease, failOn, link, jsonFile }
