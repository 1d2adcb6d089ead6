import { describe, expect, it } from "vitest"
import * as Fees from "../src/Fees.ts"
import * as Money from "../src/Money.ts"
import * as Policy from "../src/Policy.ts"

describe("Policy", () => {
  const p = Policy.defaultPolicy

  it("free models: 20 requests/min, account-wide by default", () => {
    expect(Policy.freeRpm(p, "openai/gpt-oss-20b:free")).toBe(20)
    expect(Policy.freeRpmBucket(p, "openai/gpt-oss-20b:free")).toBe("free:*")
    expect(Policy.freeRpmBucket(p, "google/gemma-4-31b-it:free")).toBe("free:*")
  })

  it("per-model scope and per-model rpm are options", () => {
    const perModel = Policy.make({ free: { scope: "model" } })
    expect(Policy.freeRpmBucket(perModel, "a:free")).toBe("free:a:free")
    const capped = Policy.make({ models: { "google/gemma-4-31b-it:free": { rpm: 8 } } })
    expect(Policy.freeRpm(capped, "google/gemma-4-31b-it:free")).toBe(8)
    expect(Policy.freeRpm(capped, "openai/gpt-oss-20b:free")).toBe(20)
    expect(Policy.freeRpmBucket(capped, "google/gemma-4-31b-it:free")).toBe("free:google/gemma-4-31b-it:free")
  })

  it("50 free requests/day below $10 purchased, 1000/day at or above; failed attempts count", () => {
    expect(Policy.freeRequestsPerDay(p, 0)).toBe(50)
    expect(Policy.freeRequestsPerDay(p, 9.99)).toBe(50)
    expect(Policy.freeRequestsPerDay(p, 10)).toBe(1000)
    expect(Policy.freeRequestsPerDay(p, 250)).toBe(1000)
    expect(p.free.failedAttemptsCount).toBe(true)
  })

  it("paid requests/second = clamp(balance, 1, 500), none without a balance", () => {
    expect(Policy.paidRequestsPerSecond(p, undefined)).toBeUndefined()
    expect(Policy.paidRequestsPerSecond(p, 0)).toBe(1)
    expect(Policy.paidRequestsPerSecond(p, 0.4)).toBe(1)
    expect(Policy.paidRequestsPerSecond(p, 42.7)).toBe(42)
    expect(Policy.paidRequestsPerSecond(p, 500)).toBe(500)
    expect(Policy.paidRequestsPerSecond(p, 10_000)).toBe(500)
  })

  it("overrides replace only the fields given", () => {
    const q = Policy.make({ free: { perDayLow: 25, rpm: undefined } })
    expect(q.free.perDayLow).toBe(25)
    expect(q.free.rpm).toBe(20)
    expect(Policy.freeRequestsPerDay(q, 0)).toBe(25)
  })

  it("the daily quota resets at the next UTC midnight", () => {
    expect(Policy.nextUtcMidnight(new Date("2026-11-23T23:59:59.999Z")).toISOString()).toBe(
      "2026-11-24T00:00:00.000Z"
    )
    expect(Policy.nextUtcMidnight(new Date("2026-12-31T00:00:00Z")).toISOString()).toBe(
      "2027-01-01T00:00:00.000Z"
    )
    expect(Policy.utcDay(new Date("2026-11-23T23:59:59Z"))).toBe("2026-11-23")
  })
})

describe("Fees", () => {
  it("credit purchases: 5.5% with a $0.80 minimum by card, 5% in crypto", () => {
    expect(Money.toPlain(Fees.creditPurchaseFee(Money.usd("10")))).toBe("0.8")
    expect(Money.toPlain(Fees.creditPurchaseFee(Money.usd("100")))).toBe("5.5")
    expect(Money.toPlain(Fees.creditPurchaseFee(Money.usd("100"), Fees.cryptoFee))).toBe("5")
  })

  it("BYOK: 5% of list price beyond the monthly allowance", () => {
    expect(Money.toPlain(Fees.byokFee(Money.usd("20"), Money.usd("1000")))).toBe("0")
    expect(Money.toPlain(Fees.byokFee(Money.usd("20"), Money.usd("24990")))).toBe("0.5")
    expect(Money.toPlain(Fees.byokFee(Money.usd("20"), Money.usd("30000")))).toBe("1")
  })
})
