/**
 * Exact USD amounts. Catalog prices carry up to 22 decimal places (`0.0000000833333333333333`
 * per token), so money is an Effect `BigDecimal` end to end and only becomes a JS number at the
 * edge (JSON output), where it is exact to far better than 1e-9.
 */
import * as BigDecimal from "effect/BigDecimal"

export type Usd = BigDecimal.BigDecimal

const PLAIN_DECIMAL = /^(?:0|[1-9]\d*)(?:\.\d+)?$/

/** Zero dollars. */
export const zero: Usd = BigDecimal.fromBigInt(0n)

/** Parses a plain decimal string (`"0.0000003"`); undefined for anything else (no exponents, no sign). */
export const parse = (text: string): Usd | undefined =>
  PLAIN_DECIMAL.test(text) ? BigDecimal.fromStringUnsafe(text) : undefined

/** An exact amount from a decimal string you know is well formed (tests, constants). */
export const usd = (text: string): Usd => {
  const value = parse(text)
  if (value === undefined) throw new Error(`not a plain decimal: ${text}`)
  return value
}

/** An exact amount from a JS number, through its shortest decimal representation. */
export const fromNumber = (n: number): Usd => {
  if (!Number.isFinite(n)) throw new Error(`not a finite number: ${n}`)
  return BigDecimal.fromNumberUnsafe(n)
}

export const add = (a: Usd, b: Usd): Usd => BigDecimal.sum(a, b)
export const sub = (a: Usd, b: Usd): Usd => BigDecimal.subtract(a, b)
export const sum = (values: Iterable<Usd>): Usd => {
  let total = zero
  for (const v of values) total = BigDecimal.sum(total, v)
  return total
}
/** price × count, e.g. a per-token price times a token count. */
export const times = (price: Usd, count: number | bigint): Usd =>
  BigDecimal.multiply(price, BigDecimal.fromBigInt(BigInt(count)))
export const mul = (a: Usd, b: Usd): Usd => BigDecimal.multiply(a, b)
export const max = (a: Usd, b: Usd): Usd => BigDecimal.max(a, b)
export const min = (a: Usd, b: Usd): Usd => BigDecimal.min(a, b)
export const isZero = (a: Usd): boolean => BigDecimal.isZero(a)
export const isNegative = (a: Usd): boolean => BigDecimal.isNegative(a)
export const gt = (a: Usd, b: Usd): boolean => BigDecimal.isGreaterThan(a, b)
export const gte = (a: Usd, b: Usd): boolean => BigDecimal.isGreaterThanOrEqualTo(a, b)
export const lt = (a: Usd, b: Usd): boolean => BigDecimal.isLessThan(a, b)
export const lte = (a: Usd, b: Usd): boolean => BigDecimal.isLessThanOrEqualTo(a, b)
export const eq = (a: Usd, b: Usd): boolean => BigDecimal.equals(a, b)

/** Plain decimal text, never exponent notation: `0.0105`, `0.0000000833333333333333`, `12`. */
export const toPlain = (a: Usd): string => {
  const n = BigDecimal.normalize(a)
  const negative = n.value < 0n
  const digits = (negative ? -n.value : n.value).toString()
  let text: string
  if (n.scale <= 0) text = digits + "0".repeat(-n.scale)
  else if (digits.length > n.scale)
    text = `${digits.slice(0, digits.length - n.scale)}.${digits.slice(digits.length - n.scale)}`
  else text = `0.${"0".repeat(n.scale - digits.length)}${digits}`
  return negative ? `-${text}` : text
}

/** A JS number for JSON output (exact to ~1e-15 relative; our spec asks 1e-9 absolute). */
export const toNumber = (a: Usd): number => Number(toPlain(a))

/** `a / n` rounded down to the nanodollar: n shares of it never add up to more than `a`. */
export const share = (a: Usd, n: number): Usd =>
  BigDecimal.round(BigDecimal.divideUnsafe(a, BigDecimal.fromNumberUnsafe(n)), { scale: 9, mode: "floor" })

/** Rounds half-up to `digits` decimals, for display only. */
export const round = (a: Usd, digits: number): Usd =>
  BigDecimal.round(a, { scale: digits, mode: "half-from-zero" })

/** `$0.0105`, with enough digits that small per-request costs stay visible. */
export const format = (a: Usd, opts: { readonly digits?: number } = {}): string => {
  const plain = toPlain(a)
  if (opts.digits !== undefined) return `$${toPlain(round(a, opts.digits))}`
  return `$${plain}`
}
