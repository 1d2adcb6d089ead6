/**
 * Where a key may go: the one rule for every key (the pipeline's API key, the management key, a
 * key minted for a run) and every request that carries one (chat completions, account discovery,
 * minting and deleting keys).
 *
 * A key goes to OpenRouter itself (`https://openrouter.ai`), or to a base URL the user gave: on
 * the command line (`--base-url`), in the environment (`TOLLGATE_BASE_URL`), or by the library's
 * caller (`baseUrl`). A host that only a pipeline file names gets no key: a pull request's
 * pipeline, planned or run in CI, cannot send a secret to a host of its choosing.
 */
import * as Fingerprint from "@tollgate/core/Fingerprint"
import * as Redacted from "effect/Redacted"
/** The environment variable a base URL may be given in, as trusted as `--base-url`. */
export const BASE_URL_ENV = "TOLLGATE_BASE_URL"

/** The environment variable a management key is read from (never printed, never written). */
export const MANAGEMENT_KEY_ENV = "OPENROUTER_MANAGEMENT_KEY"

const OPENROUTER = /^https:\/\/openrouter\.ai(\/|$)/

/** Whether a base URL is OpenRouter's own. */
export const isOpenRouter = (baseUrl: string): boolean => OPENROUTER.test(baseUrl)

/**
 * Whether a key may go to `baseUrl` (one that is not http(s), such as `echo:`, sends nothing over
 * the network). `givenByUser`: the base URL came from the command line, the
 * environment or the library's caller, not from the pipeline file.
 */
export const keyMayGo = (baseUrl: string, givenByUser: boolean): boolean =>
  givenByUser || isOpenRouter(baseUrl) || !/^https?:/i.test(baseUrl)

/** Why no key goes to `baseUrl`, and how to send one there, in one sentence. */
export const keyWithheld = (baseUrl: string, what: string): string =>
  `${what} goes only to https://openrouter.ai or to a base URL you give (--base-url or ${BASE_URL_ENV}), not to ${originOf(baseUrl)}, which only the pipeline names`

/** The scheme, host and port of a URL (never a path, query or credentials). */
const originOf = (url: string): string => {
  try {
    return new URL(url).origin
  } catch {
    return "the pipeline's base_url"
  }
}

/**
 * The environment's key variables as the edge hands them inward: a key by its variable's name
 * (pipelines name it, `provider.api_key_env`), `Redacted` from the moment it is read, and never
 * the environment itself.
 */
export interface KeyVariables {
  readonly get: (name: string) => Redacted.Redacted<string> | undefined
}

/** The key variables of an environment (an empty one is unset). Built at the edge: a command's `Io`, the library's options. */
export const keyVariablesOf = (env: Readonly<Record<string, string | undefined>>): KeyVariables => ({
  get: (name) => {
    const key = env[name]
    return key === undefined || key === "" ? undefined : Redacted.make(key)
  }
})

/**
 * A key from the variable `name`, when set and allowed for `baseUrl`: `Redacted` from here to the
 * wire (its text shows as `<redacted>` in any message, log or error it reaches by mistake).
 */
export const keyFor = (
  keys: KeyVariables,
  name: string,
  baseUrl: string,
  givenByUser: boolean
): Redacted.Redacted<string> | undefined => (keyMayGo(baseUrl, givenByUser) ? keys.get(name) : undefined)

/** The fingerprint a key's quota ledger and caches are filed under (a hash: never the key). */
export const fingerprintOfKey = (keys: KeyVariables, name: string): string => {
  const key = keys.get(name)
  return Fingerprint.keyFingerprint(key === undefined ? undefined : Redacted.value(key))
}

/** `Authorization: Bearer …` for a key: the one place a key's text is read, at the wire. */
export const bearer = (key: Redacted.Redacted<string>): { readonly authorization: string } => ({
  authorization: `Bearer ${Redacted.value(key)}`
})
