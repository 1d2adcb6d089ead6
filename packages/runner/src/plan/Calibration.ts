/**
 * What earlier runs teach the plan, from real provider replies only (not echo, offline or the
 * cache): per model, how many prompt tokens the provider bills for what our tokenizer counts (the
 * tokenizer gap); per pipeline step and model, how long replies are (mean and p90 per item),
 * shrunk toward the defaults while there are few samples. Kept as a small index updated at the
 * end of each run (`Index`, kept by `store/CalibrationIndex.ts`), not a scan of earlier runs. Pure.
 */
import type { Index, ModelTokens } from "../store/CalibrationIndex.ts"

export { emptyIndex, type Index } from "../store/CalibrationIndex.ts"

/** Samples a step keeps (the newest). */
export const MAX_SAMPLES = 200
/** Pseudo-samples of the default a figure is shrunk toward: with n samples, n / (n + K) is theirs. */
export const SHRINK = 3
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
}

export const stepKey = (pipeline: string, step: string, model: string): string =>
  `${pipeline}/${step}/${model}`

/** The index with a run's samples added. */
export const addSamples = (index: Index, samples: ReadonlyArray<Sample>): Index => {
  const models: Record<string, ModelTokens> = { ...index.models }
  const steps: Record<string, { completion: ReadonlyArray<number> }> = { ...index.steps }
  for (const s of samples) {
    if (s.expectedPrompt > 0 && s.billedPrompt > 0) {
      const m = models[s.model] ?? { billed: 0, expected: 0, requests: 0 }
      models[s.model] = {
        billed: m.billed + s.billedPrompt,
        expected: m.expected + s.expectedPrompt,
        requests: m.requests + 1
      }
    }
    const key = stepKey(s.pipeline, s.step, s.model)
    const before = steps[key]?.completion ?? []
    const added = Array.from({ length: s.items }, () => s.completionPerItem)
    steps[key] = { completion: [...before, ...added].slice(-MAX_SAMPLES) }
  }
  return { version: 1, models, steps }
}

const shrink = (observed: number, n: number, fallback: number) =>
  (n * observed + SHRINK * fallback) / (n + SHRINK)

/** Billed prompt tokens per token we expect, for a model (1 when nothing is known), shrunk toward 1. */
export const promptRatio = (index: Index, model: string): number => {
  const m = index.models[model]
  if (m === undefined || m.expected <= 0) return 1
  return shrink(m.billed / m.expected, m.requests, 1)
}

const quantile = (sorted: ReadonlyArray<number>, q: number): number => {
  if (sorted.length === 0) return 0
  const i = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)
  return sorted[Math.max(0, i)]!
}

/**
 * A step's completion tokens per item: expected (the mean) and a likely high (the p90), each
 * shrunk toward its default (half of `max_tokens`, and `max_tokens`) while samples are few.
 */
export const completionOf = (
  index: Index,
  key: string,
  maxTokens: number
): { readonly expected: number; readonly p90: number; readonly samples: number } => {
  const samples = index.steps[key]?.completion ?? []
  const n = samples.length
  const fallback = maxTokens * DEFAULT_COMPLETION_FRACTION
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
