import { Money } from "@tollgate/pricing"
import { describe, expect, it } from "vitest"
import { toNanoCeil } from "../src/RedisStores.ts"

describe("RedisStores.toNanoCeil", () => {
  it("converts exactly at nanodollar precision and rounds anything finer up, never down", () => {
    expect(toNanoCeil(Money.usd("0.0105"))).toBe(10_500_000n)
    expect(toNanoCeil(Money.usd("12"))).toBe(12_000_000_000n)
    expect(toNanoCeil(Money.usd("0.000000001"))).toBe(1n)
    expect(toNanoCeil(Money.usd("0.0000000833333333333333"))).toBe(84n)
    expect(toNanoCeil(Money.usd("0.0000000830000000000000"))).toBe(83n)
    expect(toNanoCeil(Money.zero)).toBe(0n)
  })
})
