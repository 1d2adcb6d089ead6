/**
 * The runner's settings from the environment, read once at the edge through `Config` (a value of
 * the wrong type is exit 2 naming the variable), then handed inward as plain data and as the
 * `Settings` service. The key variables' names come from each pipeline (`provider.api_key_env`):
 * the edge hands them inward as `KeyVariables` (`providers/KeyRoute.ts`: a key by name, `Redacted`
 * when read), never the environment itself.
 */
import * as StateDir from "@tollgate/core/StateDir"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { InputInvalid } from "./Errors.ts"

export interface SettingsShape {
  /** `$TOLLGATE_HOME`, else `$XDG_STATE_HOME/tollgate`, else `~/.local/state/tollgate`. */
  readonly stateDir: string
  /** `$TOLLGATE_STORE`: a `redis://` URL (checked where it is used). */
  readonly store: string | undefined
  /** `$TOLLGATE_BASE_URL`: an endpoint the user trusts with the key, as `--base-url`. */
  readonly baseUrl: string | undefined
  /** `$OPENROUTER_BASE_URL`: the legacy name `runner models refresh` still reads. */
  readonly legacyBaseUrl: string | undefined
  /** `$TOLLGATE_CATALOG`: a models catalog file to use instead of the state dir's. */
  readonly catalogFile: string | undefined
  /** `$TOLLGATE_CACHE_MAX_MB` and `$TOLLGATE_CACHE_MAX_ENTRIES`: the response cache's caps. */
  readonly cacheMaxMb: number | undefined
  readonly cacheMaxEntries: number | undefined
  /** `$TERM` is `dumb`: no live progress block. */
  readonly dumbTerminal?: boolean | undefined
  /**
   * `$TOLLGATE_DEBUG` is set: a run traces each request in a span of its own, which a defect's
   * trace then names (a span for every request costs a run about a tenth of its throughput, so
   * only when asked). The defect report reads the variable itself: a defect may come before the
   * settings.
   */
  readonly debug?: boolean | undefined
  /** In GitHub Actions: this workflow run's page (`$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID`). */
  readonly actionsRunUrl?: string | undefined
}

export class Settings extends Context.Service<Settings, SettingsShape>()("@tollgate/runner/Settings") {}

const optional = <A>(c: Config.Config<A>) => Config.map(Config.option(c), Option.getOrUndefined)

const SettingsConfig = Config.all({
  home: optional(Config.String("TOLLGATE_HOME")),
  xdg: optional(Config.String("XDG_STATE_HOME")),
  store: optional(Config.String("TOLLGATE_STORE")),
  baseUrl: optional(Config.String("TOLLGATE_BASE_URL")),
  legacyBaseUrl: optional(Config.String("OPENROUTER_BASE_URL")),
  catalogFile: optional(Config.String("TOLLGATE_CATALOG")),
  cacheMaxMb: optional(Config.Number("TOLLGATE_CACHE_MAX_MB")),
  cacheMaxEntries: optional(Config.Int("TOLLGATE_CACHE_MAX_ENTRIES")),
  term: optional(Config.String("TERM")),
  debug: optional(Config.String("TOLLGATE_DEBUG")),
  githubServer: optional(Config.String("GITHUB_SERVER_URL")),
  githubRepository: optional(Config.String("GITHUB_REPOSITORY")),
  githubRunId: optional(Config.String("GITHUB_RUN_ID"))
})

/** `SchemaError(Expected … \n at ["NAME"])` as one line naming the variable. */
const oneLine = (message: string): string => {
  const name = /at \["([^"]+)"\]/.exec(message)?.[1]
  const what = (message.split("\n")[0] ?? "").replace(/^SchemaError\(/, "").replace(/\)$/, "")
  return `${name ?? "the environment"}: ${what.charAt(0).toLowerCase()}${what.slice(1)}`
}

/** The settings the environment holds (an empty variable is an unset one). */
export const settingsOf = (
  env: Readonly<Record<string, string | undefined>>
): Effect.Effect<SettingsShape, InputInvalid> =>
  SettingsConfig.parse(ConfigProvider.fromEnvRecord(env)).pipe(
    Effect.mapError((e) => new InputInvalid({ message: oneLine(String(e.message ?? e)) })),
    Effect.map((c) => ({
      // the one rule for where state goes (core's), over the values read here
      stateDir: StateDir.stateDir({ TOLLGATE_HOME: c.home, XDG_STATE_HOME: c.xdg }),
      store: c.store,
      baseUrl: c.baseUrl,
      legacyBaseUrl: c.legacyBaseUrl,
      catalogFile: c.catalogFile,
      cacheMaxMb: c.cacheMaxMb,
      cacheMaxEntries: c.cacheMaxEntries,
      dumbTerminal: c.term === "dumb",
      debug: c.debug !== undefined,
      actionsRunUrl:
        c.githubServer && c.githubRepository && c.githubRunId
          ? `${c.githubServer}/${c.githubRepository}/actions/runs/${c.githubRunId}`
          : undefined
    }))
  )
