/** OpenRouter's fees beyond per-token prices (spec/openrouter.md, Aug 2026). */
import * as Money from "./Money.ts"

export interface CreditFeePolicy {
  readonly rate: Money.Usd
  readonly minimum: Money.Usd
}
export const cardFee: CreditFeePolicy = { rate: Money.usd("0.055"), minimum: Money.usd("0.80") }
export const cryptoFee: CreditFeePolicy = { rate: Money.usd("0.05"), minimum: Money.zero }

/** The fee for buying `amount` of credits: 5.5%, at least $0.80, by card; 5% in crypto. */
export const creditPurchaseFee = (amount: Money.Usd, policy: CreditFeePolicy = cardFee): Money.Usd =>
  Money.max(Money.mul(amount, policy.rate), policy.minimum)

export interface ByokPolicy {
  readonly rate: Money.Usd
  /** List-price usage per month that carries no fee. */
  readonly monthlyAllowance: Money.Usd
}
export const byokPolicy: ByokPolicy = { rate: Money.usd("0.05"), monthlyAllowance: Money.usd("25000") }

/**
 * The BYOK fee on a request of list price `listPrice`, when `usedThisMonth` of list-price usage
 * came before it: 5% of the part beyond the monthly allowance.
 */
export const byokFee = (
  listPrice: Money.Usd,
  usedThisMonth: Money.Usd,
  policy: ByokPolicy = byokPolicy
): Money.Usd => {
  const after = Money.add(usedThisMonth, listPrice)
  if (!Money.gt(after, policy.monthlyAllowance)) return Money.zero
  const billable = Money.min(listPrice, Money.sub(after, policy.monthlyAllowance))
  return Money.mul(billable, policy.rate)
}
