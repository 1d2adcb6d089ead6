/**
 * OpenRouter's in-flight spending budget, as the run learns it. The provider estimates each paid
 * request in flight (its prompt plus `max_tokens` at the price) and refuses (402
 * `in_flight_budget_exhausted`) what would take their sum past a budget tied to the balance. We
 * do not know that budget until it refuses, so: admit freely; at a refusal, take what we had in
 * flight beside the refused request as the budget, and hold the sum of in-flight worst cases
 * under it, so the run paces instead of failing. The budget grows back by one request's worst
 * case for each quiet `QUIET_MS` (the balance, and with it the budget, may have risen), and a
 * request always goes when nothing else is in flight. In memory, per run.
 */
import * as Money from "@tollgate/pricing/Money"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"

/** How long without a refusal before the learned budget grows by one request. */
export const QUIET_MS = 10_000

export interface Ticket {
  readonly amount: Money.Usd
  /** Its request went out (a refusal counts only these as what else was in flight). */
  sent: boolean
}

export interface InFlightShape {
  /** Waits until `amount` fits under the learned budget beside what is in flight. */
  readonly admit: (amount: Money.Usd) => Effect.Effect<Ticket>
  /** A ticket now (at `now`, epoch ms) when `amount` fits, else undefined and nothing held: `admit` without the wait. */
  readonly tryAdmit: (amount: Money.Usd, now: number) => Ticket | undefined
  /** The request is settled: its worst case leaves the sum. */
  readonly release: (t: Ticket) => Effect.Effect<void>
  /** `t`'s request goes out now (synchronous: done in the step that sends it). */
  readonly markSent: (t: Ticket) => void
  /** The provider refused `t` for the in-flight budget: learn the budget from what else was sent and in flight. */
  readonly refused: (t: Ticket) => Effect.Effect<void>
  /** The learned budget (undefined: none learned yet) and what is in flight now. */
  readonly snapshot: Effect.Effect<{ readonly budget: Money.Usd | undefined; readonly inFlight: Money.Usd }>
}

interface State {
  inFlight: Money.Usd
  /** Of `inFlight`, what went out: what the provider saw beside a refused request. */
  sentSum: Money.Usd
  count: number
  budget: Money.Usd | undefined
  refusedAt: number
  /** The last refused request's worst case: what the budget grows by per quiet period. */
  step: Money.Usd
  waiters: Array<Deferred.Deferred<void>>
}

/** The budget now: the learned one, grown by a request per quiet period since the last refusal. */
const budgetAt = (s: State, now: number): Money.Usd | undefined =>
  s.budget === undefined
    ? undefined
    : Money.add(s.budget, Money.times(s.step, Math.floor(Math.max(0, now - s.refusedAt) / QUIET_MS)))

const fits = (s: State, amount: Money.Usd, now: number): boolean => {
  const budget = budgetAt(s, now)
  return s.count === 0 || budget === undefined || Money.lte(Money.add(s.inFlight, amount), budget)
}

/** Tells every waiter to look again (most releases have none). */
const wakeAll = (s: State): void => {
  const waiters = s.waiters
  s.waiters = []
  for (const w of waiters) Deferred.doneUnsafe(w, Effect.void)
}

export const make = (): InFlightShape => {
  const s: State = {
    inFlight: Money.zero,
    sentSum: Money.zero,
    count: 0,
    budget: undefined,
    refusedAt: 0,
    step: Money.zero,
    waiters: []
  }
  const tryAdmit = (amount: Money.Usd, now: number): Ticket | undefined => {
    if (!fits(s, amount, now)) return undefined
    s.inFlight = Money.add(s.inFlight, amount)
    s.count++
    return { amount, sent: false }
  }
  const admit = (amount: Money.Usd): Effect.Effect<Ticket> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const ticket = tryAdmit(amount, now)
      if (ticket !== undefined) return Effect.succeed(ticket)
      return Effect.flatMap(Deferred.make<void>(), (d) => {
        s.waiters.push(d)
        // a quiet period may make room with nothing released: look again then
        return Effect.andThen(
          Effect.race(Deferred.await(d), Effect.sleep(QUIET_MS)),
          Effect.suspend(() => admit(amount))
        )
      })
    })
  const leave = (t: Ticket) => {
    s.inFlight = Money.max(Money.zero, Money.sub(s.inFlight, t.amount))
    if (t.sent) s.sentSum = Money.max(Money.zero, Money.sub(s.sentSum, t.amount))
    t.sent = false
    s.count = Math.max(0, s.count - 1)
  }
  return {
    admit,
    tryAdmit,
    release: (t) =>
      Effect.sync(() => {
        leave(t)
        wakeAll(s)
      }),
    markSent: (t) => {
      if (t.sent) return
      t.sent = true
      s.sentSum = Money.add(s.sentSum, t.amount)
    },
    refused: (t) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          const others = Money.max(Money.zero, Money.sub(s.sentSum, t.sent ? t.amount : Money.zero))
          const current = budgetAt(s, now)
          s.budget = current === undefined ? others : Money.min(current, others)
          s.refusedAt = now
          s.step = t.amount
        })
      ),
    snapshot: Effect.sync(() => ({ budget: s.budget, inFlight: s.inFlight }))
  }
}
