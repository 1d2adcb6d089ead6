/**
 * What earlier runs teach the plan, from real provider replies only (not echo, offline or the
 * cache): per model, how many prompt tokens the provider bills for what our tokenizer counts (the
 * tokenizer gap), weighed by the tokens observed, not the requests (one request of 9,000 tokens
 * is strong evidence); per pipeline step and model, its own prompt gap (which wins over the
 * model's as it grows) and how long replies are (mean and p90 per item), shrunk toward the
 * defaults while there are few samples. A reply that hit `max_tokens` is censored: its true
 * length is at least the cap, so a step whose replies hit it is expected near it. Kept as a small
 * index updated at the end of each run (`Index`, kept by `store/CalibrationIndex.ts`), not a scan
 * of earlier runs. Pure.
 */
import type { Index, ModelTokens, StepHistory } from "../store/CalibrationIndex.ts"

export { emptyIndex, type Index } from "../store/CalibrationIndex.ts"

/** Samples a step keeps (the newest). */
export const MAX_SAMPLES = 200
/** Pseudo-samples of the default a figure is shrunk toward: with n samples, n / (n + K) is theirs. */
export const SHRINK = 3
/** Pseudo-tokens of evidence a prompt ratio is shrunk toward its fallback with: t tokens weigh t / (t + K). */
export const PRIOR_PROMPT_TOKENS = 1_000
/** Without samples, a step is expected to use this share of its `max_tokens`. */
export const DEFAULT_COMPLETION_FRACTION = 0.5

/** One answered request of a run, as calibration sees it. */
export interface Sample {
  readonly pipeline: string
  readonly step: string
  /** The model that answered (billed). */
  readonly model: string
  /** Our expected prompt tokens for the request, and what the provider billed. */
  readonly expectedPrompt: number
  readonly billedPrompt: number
  /** Completion tokens per item (a pack's reply shared among its items). */
  readonly completionPerItem: number
  /** Items the request answered (a pack's size, else 1). */
  readonly items: number
  /** The reply hit `max_tokens`: its length is a floor, not a measure. */
  readonly capped?: boolean
  /** The provider's id of the answer: its bill (`/generation`) may give the native prompt count. */
  readonly generationId?: string
}

/** The samples with the prompt tokens the provider's bill names (native counts) where it was settled. */
export const withSettled = (
  samples: ReadonlyArray<Sample>,
  settled: ReadonlyArray<{ readonly generation_id: string; readonly native_tokens_prompt?: number }>
): ReadonlyArray<Sample> => {
  const native = new Map(settled.map((l) => [l.generation_id, l.native_tokens_prompt]))
  return samples.map((s) => {
    const billed = s.generationId === undefined ? undefined : native.get(s.generationId)
    return billed === undefined || billed <= 0 ? s : { ...s, billedPrompt: billed }
  })
}

export const stepKey = (pipeline: string, step: string, model: string): string =>
  `${pipeline}/${step}/${model}`

/** A step's history as a run's samples extend it (trimmed to `MAX_SAMPLES` when done). */
interface Growing {
  completion: number[]
  capped: boolean[]
  prompt: StepHistory["prompt"]
}

const growing = (before: StepHistory | undefined): Growing => ({
  completion: [...(before?.completion ?? [])],
  // an index from before capping was kept reads as uncapped
  capped: [...(before?.capped ?? before?.completion.map(() => false) ?? [])],
  prompt: before?.prompt
})

/** The index with a run's samples added: each step's history built once (a run may add 100,000 samples). */
export const addSamples = (index: Index, samples: ReadonlyArray<Sample>): Index => {
  const models: Record<string, ModelTokens> = { ...index.models }
  const steps: Record<string, StepHistory> = { ...index.steps }
  const grown = new Map<string, Growing>()
  for (const s of samples) {
    const key = stepKey(s.pipeline, s.step, s.model)
    let g = grown.get(key)
    if (g === undefined) {
      g = growing(steps[key])
      grown.set(key, g)
    }
    if (s.expectedPrompt > 0 && s.billedPrompt > 0) {
      const m = models[s.model] ?? { billed: 0, expected: 0, requests: 0 }
      models[s.model] = {
        billed: m.billed + s.billedPrompt,
        expected: m.expected + s.expectedPrompt,
        requests: m.requests + 1
      }
      g.prompt = {
        billed: (g.prompt?.billed ?? 0) + s.billedPrompt,
        expected: (g.prompt?.expected ?? 0) + s.expectedPrompt
      }
    }
    for (let i = 0; i < s.items; i++) {
      g.completion.push(s.completionPerItem)
      g.capped.push(s.capped === true)
    }
    if (g.completion.length > 2 * MAX_SAMPLES) {
      g.completion = g.completion.slice(-MAX_SAMPLES)
      g.capped = g.capped.slice(-MAX_SAMPLES)
    }
  }
  for (const [key, g] of grown)
    steps[key] = {
      completion: g.completion.slice(-MAX_SAMPLES),
      capped: g.capped.slice(-MAX_SAMPLES),
      ...(g.prompt !== undefined ? { prompt: g.prompt } : {})
    }
  return { version: 1, models, steps }
}

const shrink = (observed: number, n: number, fallback: number) =>
  (n * observed + SHRINK * fallback) / (n + SHRINK)

/** billed / expected over `expected` tokens of evidence, shrunk toward `fallback`. */
const shrinkByTokens = (billed: number, expected: number, fallback: number) =>
  expected <= 0 ? fallback : (billed + PRIOR_PROMPT_TOKENS * fallback) / (expected + PRIOR_PROMPT_TOKENS)

/**
 * Billed prompt tokens per token we expect: the step's own history (`key`), shrunk toward the
 * model's, shrunk toward 1; each weighed by the tokens it observed.
 */
export const promptRatio = (index: Index, model: string, key?: string): number => {
  const m = index.models[model]
  const modelRatio = m === undefined ? 1 : shrinkByTokens(m.billed, m.expected, 1)
  const own = key === undefined ? undefined : index.steps[key]?.prompt
  return own === undefined ? modelRatio : shrinkByTokens(own.billed, own.expected, modelRatio)
}

const quantile = (sorted: ReadonlyArray<number>, q: number): number => {
  if (sorted.length === 0) return 0
  const i = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)
  return sorted[Math.max(0, i)]!
}

/**
 * A step's completion tokens per item: expected (the mean) and a likely high (the p90), each
 * shrunk toward its default (half of `max_tokens`, and `max_tokens`) while samples are few. The
 * share of replies that hit the cap moves the expected default toward the cap: they say the
 * step wants more than it is given.
 */
export const completionOf = (
  index: Index,
  key: string,
  maxTokens: number
): { readonly expected: number; readonly p90: number; readonly samples: number } => {
  const samples = index.steps[key]?.completion ?? []
  const n = samples.length
  const capped = (index.steps[key]?.capped ?? []).filter((c) => c).length
  const share = n === 0 ? 0 : Math.min(1, capped / n)
  const fallback = maxTokens * (DEFAULT_COMPLETION_FRACTION + (1 - DEFAULT_COMPLETION_FRACTION) * share)
  if (n === 0) return { expected: Math.round(fallback), p90: maxTokens, samples: 0 }
  const mean = samples.reduce((a, b) => a + b, 0) / n
  const p90 = quantile(
    [...samples].sort((a, b) => a - b),
    0.9
  )
  const expected = Math.min(maxTokens, Math.round(shrink(mean, n, fallback)))
  return {
    expected,
    p90: Math.max(expected, Math.min(maxTokens, Math.round(shrink(p90, n, maxTokens)))),
    samples: n
  }
}
