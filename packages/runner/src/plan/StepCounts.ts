/**
 * A fan-out step's counted requests, remembered by what decides their texts: the step's prompts,
 * its `for_each`, and the inputs (a data file by its hash). A plan of the same step over the same
 * data answers from them without rendering a prompt or hashing a text (CI planning on every push
 * a pipeline whose data did not change). Kept in the token memo (`TokenMemo.ts`), so it lives,
 * is trimmed and is shared (`--store`) as the counts are.
 *
 * Each request is one number: its expected tokens and its bound, both as counted before the
 * model's calibration, packed. A step with a request too large to pack is counted each time.
 */
import { hash } from "node:crypto"
import type { Step } from "../dsl/Pipeline.ts"

/** Changes when what a count means changes (the tokenizer, the chat framing): older series are not found. */
const VERSION = "step-counts/1 o200k TGC2"

/** Bounds below 2^16 and expected counts below 2^15 pack into one non-negative int32. */
const EXPECTED_BITS = 15
const EXPECTED_MAX = (1 << EXPECTED_BITS) - 1
const BOUND_MAX = (1 << 16) - 1

export const pack = (expected: number, max: number): number | undefined =>
  expected >= 0 && expected <= EXPECTED_MAX && max >= 0 && max <= BOUND_MAX
    ? max * (EXPECTED_MAX + 1) + expected
    : undefined

export const unpack = (n: number): { readonly expected: number; readonly max: number } => ({
  expected: n & EXPECTED_MAX,
  max: n >>> EXPECTED_BITS
})

/**
 * A template that may render differently with the same inputs is never remembered: one that
 * names the clock (`"now"`, `"today"`), or formats a date (a data value of "today", or the
 * machine's time zone, moves its text), or draws at random (`sample`, `shuffle`).
 */
const mayRenderDifferently = (text: string): boolean =>
  /\b(now|today)\b/.test(text) || /\|\s*(date|date_to_\w+|sample|shuffle|random)\b/.test(text)

/**
 * The key of a step's series, or undefined when its texts are not decided by the step and the
 * inputs alone (not a fan-out, packed, naming an upstream step, or reading the clock).
 */
export const keyOf = (step: Step, inputsDigest: string, mayHaveMarkers: boolean): string | undefined => {
  if (step.forEach === undefined || step.pack > 1 || mayHaveMarkers) return undefined
  if (step.messages.some((m) => mayRenderDifferently(m.content)) || mayRenderDifferently(step.forEach))
    return undefined
  const what = [
    VERSION,
    inputsDigest,
    step.forEach,
    step.as,
    step.maxItems ?? null,
    step.messages.map((m) => [m.role, m.content])
  ]
  return hash("sha1", JSON.stringify(what), "base64url")
}
