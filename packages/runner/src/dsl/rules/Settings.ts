/** Settings whose values the schema cannot bound: timeouts, rate windows, the endpoint and its headers. */
import type { Diagnostic } from "../Diagnostics.ts"
import type { Path } from "../Load.ts"
import { parseDuration } from "../Pipeline.ts"
import { at, eachStep, type Rule, type RuleContext } from "./Rule.ts"

export const MIN_TIMEOUT_MS = 1_000
export const MAX_TIMEOUT_MS = 3_600_000

const checkTimeout = (ctx: RuleContext, text: string | undefined, path: Path): Diagnostic[] => {
  if (text === undefined) return []
  const ms = parseDuration(text)
  if (ms !== undefined && ms >= MIN_TIMEOUT_MS && ms <= MAX_TIMEOUT_MS) return []
  return [
    at(
      ctx,
      path,
      `timeout ${text} is outside 1s to 1h: a shorter one abandons replies that are still billed, a longer one holds budget for nothing`,
      "timeout"
    )
  ]
}

/** `timeout` between 1 s and 1 h, in defaults and on each step. */
export const timeouts: Rule = (ctx) => [
  ...checkTimeout(ctx, ctx.spec.defaults?.timeout, ["defaults", "timeout"]),
  ...eachStep(ctx, (s, base) => checkTimeout(ctx, s.timeout, [...base, "timeout"]))
]

/** `limits.window` from 1 s to 1 d; `limits.window_margin` shorter than the window. */
export const rateWindow: Rule = (ctx) => {
  const { window, window_margin: margin } = ctx.spec.limits ?? {}
  const windowMs = parseDuration(window ?? "60s") ?? 60_000
  const out: Diagnostic[] = []
  if (windowMs < 1_000 || windowMs > 86_400_000)
    out.push(at(ctx, ["limits", "window"], `limits.window ${window} is outside 1s to 1d`, "window"))
  if (margin !== undefined && (parseDuration(margin) ?? 0) >= windowMs)
    out.push(
      at(
        ctx,
        ["limits", "window_margin"],
        `limits.window_margin ${margin} is not shorter than the window`,
        "window"
      )
    )
  return out
}

/** An http(s) URL with no whitespace or control characters, or `echo:`; else why not. */
export const baseUrlProblem = (url: string): string | undefined => {
  if (url.startsWith("echo:")) return undefined
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  if (/[\s\u0000-\u001f\u007f]/.test(url)) return "has whitespace or control characters"
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return "is not a URL"
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:")
    return `must be http(s), not ${parsed.protocol}`
  if (parsed.username !== "" || parsed.password !== "")
    return "must not carry credentials (the key comes from the environment)"
  return undefined
}

/** `provider.base_url` is an http(s) endpoint (or `echo:`). */
export const baseUrl: Rule = (ctx) => {
  const url = ctx.spec.provider?.base_url
  const problem = url === undefined ? undefined : baseUrlProblem(url)
  return problem === undefined
    ? []
    : [at(ctx, ["provider", "base_url"], `provider.base_url ${problem}`, "base-url")]
}

/**
 * `provider.api_key_env` names an API key (`…API_KEY`): the runner sends that variable, as a
 * bearer token, to `provider.base_url`, so a pipeline (say, a pull request's) cannot make it send
 * `GITHUB_TOKEN` or a cloud secret to a host of its choosing.
 */
export const apiKeyEnv: Rule = (ctx) => {
  const name = ctx.spec.provider?.api_key_env
  if (name === undefined || /API_KEY$/.test(name)) return []
  return [
    at(
      ctx,
      ["provider", "api_key_env"],
      `provider.api_key_env "${name}" does not name an API key (…API_KEY): the runner sends that variable to provider.base_url, so only API keys may be named`,
      "api-key-env"
    )
  ]
}

/** RFC 9110 `token`: the characters a header name may have. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** A field value: visible Latin-1 characters, spaces and tabs (what HTTP/1.1 carries); no CR, LF or NUL. */
const FIELD_VALUE = /^[\t\u0020-\u007e\u0080-\u00ff]*$/
/** Headers the HTTP client sets itself, or that belong to a hop: a pipeline setting one fails every request. */
const CONNECTION_HEADERS = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "upgrade",
  "expect",
  "te",
  "trailer",
  "proxy-authorization",
  "proxy-connection"
])

/** Headers are valid per RFC 9110; `Authorization` is the runner's alone (the key comes from the environment). */
export const headers: Rule = (ctx) =>
  Object.entries(ctx.spec.provider?.headers ?? {}).flatMap(([name, value]): Diagnostic[] => {
    const path = ["provider", "headers", name]
    if (!TOKEN.test(name))
      return [at(ctx, path, `header name "${name}" is not a valid HTTP field name`, "header", "key")]
    if (name.toLowerCase() === "authorization")
      return [
        at(
          ctx,
          path,
          "provider.headers cannot set Authorization: the key is sent from the environment variable in provider.api_key_env",
          "header",
          "key"
        )
      ]
    if (CONNECTION_HEADERS.has(name.toLowerCase()))
      return [
        at(
          ctx,
          path,
          `provider.headers cannot set ${name}: the HTTP client sets it for each connection and request`,
          "header",
          "key"
        )
      ]
    if (!FIELD_VALUE.test(value))
      return [
        at(
          ctx,
          path,
          `header "${name}" has a line break, a control character or a character outside Latin-1 in its value`,
          "header"
        )
      ]
    return []
  })

/**
 * `provider.kind: openai` takes only OpenAI's chat-completions fields: a fallback list, OpenRouter's
 * routing preferences and a provider-side budget (a minted key) need OpenRouter.
 */
export const vendorFields: Rule = (ctx) => {
  if (ctx.spec.provider?.kind !== "openai") return []
  const needs = (path: Path, what: string, mode: "value" | "key" = "key") =>
    at(
      ctx,
      path,
      `${what} is OpenRouter's; provider.kind: openai sends only OpenAI's fields`,
      "provider-kind",
      mode
    )
  const fallback = (model: unknown, path: Path) =>
    Array.isArray(model) && model.length > 1 ? [needs(path, "a fallback list of models", "value")] : []
  return [
    ...(ctx.spec.provider.routing !== undefined ? [needs(["provider", "routing"], "provider.routing")] : []),
    ...(ctx.spec.budget?.enforce === "provider"
      ? [needs(["budget", "enforce"], "budget.enforce: provider (a key minted for the run)", "value")]
      : []),
    ...fallback(ctx.spec.defaults?.model, ["defaults", "model"]),
    ...eachStep(ctx, (s, base) => fallback(s.model, [...base, "model"]))
  ]
}
