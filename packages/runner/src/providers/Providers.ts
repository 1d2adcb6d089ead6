/**
 * Which provider answers a run: the local echo provider (`echo:` base URLs, `--echo`), the
 * offline one (`--offline`), or the real HTTP provider, whose client (undici) is loaded only
 * when a run sends.
 */
import type { Provider } from "@tollgate/core/Provider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type { DiscoverSettings, MintSettings } from "./AccountApi.ts"
import * as EchoProvider from "./EchoProvider.ts"
import type { Lookup } from "./GenerationApi.ts"
import * as OfflineProvider from "./OfflineProvider.ts"
import { type Discovered, nothingDiscovered } from "./ProviderAccount.ts"

export interface ProviderSettings {
  readonly baseUrl: string
  /** The key, from the environment variable the pipeline names; only ever sent in Authorization. */
  readonly apiKey: Redacted.Redacted<string> | undefined
  readonly headers: Readonly<Record<string, string>>
  readonly connections: number
}

export interface ProvidersShape {
  /** The provider a run with these settings talks to. */
  readonly layerFor: (s: ProviderSettings) => Layer.Layer<Provider>
  /** Whether it is an account (pacing, quota) or a local stand-in (echo, offline). */
  readonly isAccount: (baseUrl: string) => boolean
  /** What the provider says about the account (`/key`, `/credits`); nothing from echo or offline. */
  readonly discover: (s: DiscoverSettings) => Effect.Effect<Discovered>
  /** Keys minted for a run and deleted after it (a management key's `/keys`). */
  readonly keys: KeysApi
  /** The provider's bill for one answer (OpenRouter's `/generation`). */
  readonly generation: (s: {
    readonly baseUrl: string
    readonly apiKey: Redacted.Redacted<string> | undefined
    readonly id: string
  }) => Effect.Effect<Lookup>
}

export interface KeysApi {
  readonly mint: (
    s: MintSettings
  ) => Effect.Effect<{ readonly hash: string; readonly key: Redacted.Redacted<string> }, string>
  readonly remove: (s: {
    readonly baseUrl: string
    readonly managementKey: Redacted.Redacted<string>
    readonly hash: string
  }) => Effect.Effect<void, string>
}

const api = Effect.promise(() => import("./AccountApi.ts"))
const httpKeys: KeysApi = {
  mint: (s) => Effect.flatMap(api, (m) => m.mintKey(s)),
  remove: (s) => Effect.flatMap(api, (m) => m.deleteKey(s))
}
const noKeys: KeysApi = {
  mint: () => Effect.fail("keys cannot be minted: nothing is sent to a provider"),
  remove: () => Effect.void
}

const generationHttp: ProvidersShape["generation"] = (s) =>
  Effect.flatMap(
    Effect.promise(() => import("./GenerationApi.ts")),
    (m) => m.lookup(s.baseUrl, s.apiKey, s.id)
  )
const noGeneration: ProvidersShape["generation"] = () =>
  Effect.succeed({ _tag: "failed", why: "nothing is sent to a provider" })

const discoverHttp = (s: DiscoverSettings): Effect.Effect<Discovered> =>
  Effect.flatMap(api, (m) => m.discover(s))

const http = (s: ProviderSettings): Layer.Layer<Provider> =>
  Layer.unwrap(Effect.promise(() => import("./HttpProvider.ts")).pipe(Effect.map((m) => m.layer(s))))

export class Providers extends Context.Service<Providers, ProvidersShape>()(
  "@tollgate/runner/providers/Providers"
) {
  /** Echo for `echo:` base URLs, else HTTP. */
  static readonly layerAuto = Layer.succeed(Providers, {
    layerFor: (s) => (EchoProvider.isEcho(s.baseUrl) ? EchoProvider.layer : http(s)),
    isAccount: (baseUrl) => !EchoProvider.isEcho(baseUrl),
    discover: (s) => (EchoProvider.isEcho(s.baseUrl) ? Effect.succeed(nothingDiscovered) : discoverHttp(s)),
    keys: httpKeys,
    generation: (s) => (EchoProvider.isEcho(s.baseUrl) ? noGeneration(s) : generationHttp(s))
  })
  /** `--offline`: nothing is sent. */
  static readonly layerOffline = Layer.succeed(Providers, {
    layerFor: () => OfflineProvider.layer,
    isAccount: () => false,
    discover: () => Effect.succeed(nothingDiscovered),
    keys: noKeys,
    generation: noGeneration
  })
}
