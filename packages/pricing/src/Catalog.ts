/**
 * The models catalog: OpenRouter's `GET /models` decoded into priced models, with lookup by id
 * (variant suffixes included), search and "did you mean". Pure: reading and fetching the JSON
 * happen in `CatalogStore`.
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Money from "./Money.ts"

/** A per-unit price: an exact amount, or `null` when the catalog says `"-1"` (unknown until routed). */
export type Rate = Money.Usd | null

/** Every price the catalog knows, USD per unit. A key missing from the catalog is 0. */
export interface Rates {
  readonly prompt: Rate
  readonly completion: Rate
  readonly request: Rate
  readonly image: Rate
  readonly web_search: Rate
  readonly internal_reasoning: Rate | undefined
  readonly input_cache_read: Rate | undefined
  readonly input_cache_write: Rate | undefined
  readonly input_cache_write_1h: Rate | undefined
  readonly audio: Rate
  readonly input_audio_cache: Rate
  readonly image_output: Rate
  readonly audio_output: Rate
}
export type RateKey = keyof Rates
export const RATE_KEYS: ReadonlyArray<RateKey> = [
  "prompt",
  "completion",
  "request",
  "image",
  "web_search",
  "internal_reasoning",
  "input_cache_read",
  "input_cache_write",
  "input_cache_write_1h",
  "audio",
  "input_audio_cache",
  "image_output",
  "audio_output"
]
/** Keys whose absence means "bill at another rate" (the prompt or completion price), not 0. */
const FALLBACK_KEYS = new Set<RateKey>([
  "internal_reasoning",
  "input_cache_read",
  "input_cache_write",
  "input_cache_write_1h"
])

/** A conditional price: applies above a prompt-token threshold, or within a UTC time-of-day window. */
export interface Override {
  readonly minPromptTokens: number | undefined
  /** UTC time of day as HHMM (e.g. 1000 = 10:00); the window may wrap past midnight. */
  readonly utcStart: number | undefined
  readonly utcEnd: number | undefined
  readonly rates: Partial<Rates>
}

export interface Model {
  readonly id: string
  readonly name: string
  readonly contextLength: number | undefined
  readonly maxCompletionTokens: number | undefined
  readonly rates: Rates
  readonly overrides: ReadonlyArray<Override>
  /** `:free` in the id, or every price 0. Free models are subject to the free-tier policy. */
  readonly free: boolean
  /** Some price is `"-1"`: a router whose cost is known only after routing. */
  readonly unknownPrice: boolean
  readonly created: number | undefined
  readonly supportedParameters: ReadonlyArray<string>
}

const PriceString = Schema.String.check(
  Schema.isPattern(/^(?:-1|(?:0|[1-9]\d*)(?:\.\d+)?)$/, {
    message: 'expected a price: a plain decimal string or "-1"'
  })
)
const OptionalPrice = Schema.optionalKey(Schema.NullOr(PriceString))
const PricingFields = {
  prompt: OptionalPrice,
  completion: OptionalPrice,
  request: OptionalPrice,
  image: OptionalPrice,
  web_search: OptionalPrice,
  internal_reasoning: OptionalPrice,
  input_cache_read: OptionalPrice,
  input_cache_write: OptionalPrice,
  input_cache_write_1h: OptionalPrice,
  audio: OptionalPrice,
  input_audio_cache: OptionalPrice,
  image_output: OptionalPrice,
  audio_output: OptionalPrice
}
const OverrideSchema = Schema.Struct({
  ...PricingFields,
  min_prompt_tokens: Schema.optionalKey(Schema.Number),
  utc_start: Schema.optionalKey(Schema.Number),
  utc_end: Schema.optionalKey(Schema.Number)
})
/** The wire shape of one model; unknown fields are tolerated (ignored). */
export const ModelWire = Schema.Struct({
  id: Schema.String.check(Schema.isMinLength(1)),
  name: Schema.optionalKey(Schema.String),
  created: Schema.optionalKey(Schema.NullOr(Schema.Number)),
  context_length: Schema.optionalKey(Schema.NullOr(Schema.Number)),
  // an OpenAI-compatible server's /models often lists ids with no prices: such a model is known, its price not
  pricing: Schema.optionalKey(
    Schema.Struct({ ...PricingFields, overrides: Schema.optionalKey(Schema.Array(OverrideSchema)) })
  ),
  top_provider: Schema.optionalKey(
    Schema.NullOr(
      Schema.Struct({
        context_length: Schema.optionalKey(Schema.NullOr(Schema.Number)),
        max_completion_tokens: Schema.optionalKey(Schema.NullOr(Schema.Number))
      })
    )
  ),
  supported_parameters: Schema.optionalKey(Schema.NullOr(Schema.Array(Schema.String)))
})
export type ModelWire = typeof ModelWire.Type

const rate = (text: string | null | undefined): Rate | undefined => {
  if (text === undefined || text === null) return undefined
  if (text === "-1") return null
  return Money.parse(text)
}

const decodeRates = (pricing: Partial<Record<RateKey, string | null>>): Rates => {
  const out: Record<string, Rate | undefined> = {}
  for (const key of RATE_KEYS) {
    const value = rate(pricing[key])
    out[key] = value === undefined && !FALLBACK_KEYS.has(key) ? Money.zero : value
  }
  return out as unknown as Rates
}

const decodePartialRates = (pricing: Partial<Record<RateKey, string | null>>): Partial<Rates> => {
  const out: Record<string, Rate> = {}
  for (const key of RATE_KEYS) {
    const value = rate(pricing[key])
    if (value !== undefined) out[key] = value
  }
  return out as Partial<Rates>
}

/** Builds a priced model from its decoded wire form. */
const UNPRICED = { prompt: "-1", completion: "-1" } as const

export const fromWire = (wire: ModelWire): Model => {
  const pricing = wire.pricing ?? UNPRICED
  const rates = decodeRates(pricing)
  const overrides = ("overrides" in pricing ? (pricing.overrides ?? []) : []).map(
    (o): Override => ({
      minPromptTokens: o.min_prompt_tokens,
      utcStart: o.utc_start,
      utcEnd: o.utc_end,
      rates: decodePartialRates(o)
    })
  )
  const values = RATE_KEYS.map((k) => rates[k])
  const unknownPrice = values.some((v) => v === null)
  const allZero = values.every((v) => v === undefined || (v !== null && Money.isZero(v)))
  return {
    id: wire.id,
    name: wire.name ?? wire.id,
    contextLength: wire.context_length ?? wire.top_provider?.context_length ?? undefined,
    maxCompletionTokens: wire.top_provider?.max_completion_tokens ?? undefined,
    rates,
    overrides,
    free: wire.id.endsWith(":free") || (allZero && !unknownPrice),
    unknownPrice,
    created: wire.created ?? undefined,
    supportedParameters: wire.supported_parameters ?? []
  }
}

/** A model entry the catalog could not decode: kept out, and reported. */
export interface DecodeIssue {
  readonly index: number
  readonly id: string | undefined
  readonly message: string
}

/** Where a catalog came from, for "which catalog is in use". */
export interface Source {
  readonly kind: "bundled" | "refreshed" | "file"
  readonly label: string
  /** ISO date (bundled: capture date; refreshed: fetch time). */
  readonly date: string
  readonly location: string
}

export class CatalogDecodeError extends Error {
  override readonly name = "CatalogDecodeError"
}

const decodeModel = Schema.decodeUnknownResult(ModelWire)
const Envelope = Schema.Struct({ data: Schema.Array(Schema.Unknown) })
const decodeEnvelope = Schema.decodeUnknownResult(Envelope)

/**
 * Decodes a `/models` response body (already JSON-parsed). Bad model entries are skipped and
 * reported in `issues`; a body without a `data` array, or with no usable model, is an error.
 */
export const decode = (json: unknown, source: Source): Catalog => {
  const envelope = decodeEnvelope(json)
  if (Result.isFailure(envelope))
    throw new CatalogDecodeError(`not a models response: ${envelope.failure.message}`)
  const models: Model[] = []
  const issues: DecodeIssue[] = []
  envelope.success.data.forEach((entry, index) => {
    const decoded = decodeModel(entry)
    if (Result.isSuccess(decoded)) models.push(fromWire(decoded.success))
    else {
      const id = typeof entry === "object" && entry !== null && "id" in entry ? String(entry.id) : undefined
      issues.push({ index, id, message: decoded.failure.message.replace(/\s+/g, " ") })
    }
  })
  if (models.length === 0) throw new CatalogDecodeError("the models response lists no usable model")
  return new Catalog(models, issues, source)
}

/** OpenRouter's web plugin: 5 results at $4 per 1,000, when the model has no search price of its own. */
export const ONLINE_SEARCH_USD: Money.Usd = Money.usd("0.02")

/** Variant suffixes that apply to any model at the base model's price (an estimate: providers differ). */
export const ROUTING_VARIANTS: ReadonlyArray<string> = ["nitro", "floor", "exacto", "online"]

/** A model id resolved against the catalog. */
export interface Resolved {
  readonly requested: string
  readonly model: Model
  /** The suffix when the requested id was `base:variant` and priced from the base entry. */
  readonly variant: string | undefined
  /** True when the price is the base model's, applied to a routing variant. */
  readonly estimate: boolean
  readonly note: string | undefined
}

export class UnknownModelError extends Error {
  override readonly name = "UnknownModelError"
  readonly requested: string
  readonly suggestions: ReadonlyArray<string>
  constructor(requested: string, suggestions: ReadonlyArray<string>) {
    super(
      `unknown model "${requested}"` +
        (suggestions.length > 0 ? `; did you mean ${suggestions.map((s) => `"${s}"`).join(", ")}?` : "") +
        " (run `runner models --search TEXT` to look one up)"
    )
    this.requested = requested
    this.suggestions = suggestions
  }
}

/** A decoded catalog; immutable. */
export class Catalog {
  private readonly byId: ReadonlyMap<string, Model>
  readonly models: ReadonlyArray<Model>
  readonly issues: ReadonlyArray<DecodeIssue>
  readonly source: Source
  constructor(models: ReadonlyArray<Model>, issues: ReadonlyArray<DecodeIssue>, source: Source) {
    this.models = models
    this.issues = issues
    this.source = source
    this.byId = new Map(models.map((m) => [m.id, m]))
  }

  get size(): number {
    return this.models.length
  }

  /**
   * The same catalog with every token price raised by `fraction` (0.25: 25%): what an endpoint may
   * bill when routing by effective cost is allowed that far above the list price. Free models stay free.
   */
  withMarkup(fraction: number): Catalog {
    if (fraction <= 0) return this
    const factor = Money.fromNumber(1 + fraction)
    const up = (r: Rate | undefined): Rate | undefined =>
      r === null || r === undefined ? r : Money.mul(r, factor)
    const rates = <R extends Partial<Rates>>(rs: R): R => ({
      ...rs,
      ...("prompt" in rs ? { prompt: up(rs.prompt) } : {}),
      ...("completion" in rs ? { completion: up(rs.completion) } : {})
    })
    const models = this.models.map((m) =>
      m.free
        ? m
        : {
            ...m,
            rates: rates(m.rates),
            overrides: m.overrides.map((o) => ({ ...o, rates: rates(o.rates) }))
          }
    )
    return new Catalog(models, this.issues, this.source)
  }

  /**
   * The same catalog with prices a pipeline declares (`pricing:`, USD per million tokens, and per
   * request): a known model takes them, an id the catalog lacks (a local model's name) is added.
   */
  withDeclared(
    declared: Readonly<
      Record<
        string,
        { readonly prompt: number; readonly completion: number; readonly request?: number | undefined }
      >
    >
  ): Catalog {
    const ids = Object.keys(declared)
    if (ids.length === 0) return this
    const perToken = (usdPerMillion: number) =>
      Money.mul(Money.fromNumber(usdPerMillion), Money.usd("0.000001"))
    const priced = ids.map((id): Model => {
      const d = declared[id]!
      const base = this.byId.get(id)
      const rates: Rates = {
        ...(base?.rates ?? decodeRates({})),
        prompt: perToken(d.prompt),
        completion: perToken(d.completion),
        request: d.request !== undefined ? Money.fromNumber(d.request) : Money.zero
      }
      return {
        id,
        name: base?.name ?? id,
        contextLength: base?.contextLength,
        maxCompletionTokens: base?.maxCompletionTokens,
        rates,
        overrides: [],
        // priced at 0 is a local model's price, not OpenRouter's free tier (its quota and rpm)
        free: id.endsWith(":free"),
        unknownPrice: false,
        created: base?.created,
        supportedParameters: base?.supportedParameters ?? []
      }
    })
    const others = this.models.filter((m) => declared[m.id] === undefined)
    return new Catalog([...others, ...priced], this.issues, this.source)
  }

  /** The entry with exactly this id. */
  get(id: string): Model | undefined {
    return this.byId.get(id)
  }

  /**
   * Resolves an id: an entry the catalog lists (`:free`, `:thinking`, `:batch`, … are entries of
   * their own) is priced as itself; `base:variant` with a routing variant (`:nitro`, `:floor`,
   * `:exacto`, `:online`) is priced as the base model. Anything else: undefined.
   */
  resolve(requested: string): Resolved | undefined {
    const exact = this.byId.get(requested)
    if (exact !== undefined)
      return { requested, model: exact, variant: undefined, estimate: false, note: undefined }
    const colon = requested.lastIndexOf(":")
    if (colon <= 0) return undefined
    const variant = requested.slice(colon + 1)
    const base = this.byId.get(requested.slice(0, colon))
    if (base === undefined) return undefined
    if (!ROUTING_VARIANTS.includes(variant)) return undefined
    if (variant === "online") {
      // one web search per request, folded into the per-request fee so every cost path counts it
      const search =
        base.rates.web_search !== null && !Money.isZero(base.rates.web_search)
          ? base.rates.web_search
          : ONLINE_SEARCH_USD
      const request = base.rates.request === null ? null : Money.add(base.rates.request, search)
      return {
        requested,
        model: { ...base, rates: { ...base.rates, request } },
        variant,
        estimate: true,
        note: `:online is deprecated; priced as ${base.id} plus one web search per request (${Money.format(search)}, in the request fee)`
      }
    }
    const note = `:${variant} is priced at ${base.id}'s list price (an estimate: the provider chosen may differ)`
    return { requested, model: base, variant, estimate: true, note }
  }

  /** Like `resolve`, but an unknown id throws `UnknownModelError` with the nearest ids. */
  resolveOrThrow(requested: string): Resolved {
    const resolved = this.resolve(requested)
    if (resolved === undefined) throw new UnknownModelError(requested, this.suggest(requested))
    return resolved
  }

  /** Up to `limit` ids nearest to `text` (edit distance, substring matches first). */
  suggest(text: string, limit = 3): ReadonlyArray<string> {
    return suggest(
      this.models.map((m) => m.id),
      text,
      limit
    )
  }

  /** Models whose id or name contains every word of `text` (case-insensitive). */
  search(text: string): ReadonlyArray<Model> {
    const words = text.toLowerCase().split(/\s+/).filter(Boolean)
    return this.models.filter((m) => {
      const hay = `${m.id} ${m.name}`.toLowerCase()
      return words.every((w) => hay.includes(w))
    })
  }

  free(): ReadonlyArray<Model> {
    return this.models.filter((m) => m.free)
  }
}

/** Levenshtein distance, two rows. */
export const editDistance = (a: string, b: string): number => {
  if (a === b) return 0
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  let cur = new Array<number>(b.length + 1).fill(0)
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost)
    }
    ;[prev, cur] = [cur, prev]
  }
  return prev[b.length]!
}

/** The candidates nearest to `text`: close edits on the whole id or on the part after the vendor. */
export const suggest = (
  candidates: ReadonlyArray<string>,
  text: string,
  limit = 3
): ReadonlyArray<string> => {
  const needle = text.toLowerCase()
  const needleTail = needle.slice(needle.indexOf("/") + 1)
  const scored = candidates.map((id) => {
    const lower = id.toLowerCase()
    const tail = lower.slice(lower.indexOf("/") + 1)
    const distance = Math.min(editDistance(needle, lower), editDistance(needleTail, tail) + 1)
    const contains = lower.includes(needleTail) ? 0 : 1
    return { id, distance, contains }
  })
  const threshold = Math.max(3, Math.floor(needle.length / 3))
  return scored
    .filter((s) => s.distance <= threshold || s.contains === 0)
    .sort((a, b) => a.distance - b.distance || a.contains - b.contains || a.id.localeCompare(b.id))
    .slice(0, limit)
    .map((s) => s.id)
}
