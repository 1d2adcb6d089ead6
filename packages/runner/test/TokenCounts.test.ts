import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as TokenCounts from "@tollgate/runner/plan/TokenCounts"
import { expectedTokens } from "@tollgate/runner/plan/Tokens"
import { describe, expect, it } from "vitest"

const memoFile = () => TokenCounts.fileOf(mkdtempSync(join(tmpdir(), "tollgate-counts-")))

/** A counter that counts its calls (the tokenizer's answers, so results stay real). */
const counter = () => {
  const calls: string[] = []
  return {
    calls,
    count: (text: string) => {
      calls.push(text)
      return expectedTokens(text)
    }
  }
}

describe("the memo of token counts", () => {
  it("a text counted once is answered from the memo by the next process, without counting", () => {
    const file = memoFile()
    const texts = ["Summarize: the quick brown fox.", "Translate to French: good morning", "x ".repeat(500)]
    const first = counter()
    const a = TokenCounts.open(file, { count: first.count })
    const counted = texts.map(a.expected)
    a.save()
    expect(first.calls).toEqual(texts)
    const second = counter()
    const b = TokenCounts.open(file, { count: second.count })
    expect(texts.map(b.expected)).toEqual(counted)
    expect(second.calls).toEqual([])
    expect(counted).toEqual(texts.map(expectedTokens))
  })

  it("stores digests and counts, never the text", () => {
    const file = memoFile()
    const memo = TokenCounts.open(file)
    memo.expected("the secret launch date is 2027-03-01")
    memo.save()
    const saved = readFileSync(file, "utf8")
    expect(saved).not.toMatch(/secret|launch|2027/)
    expect(Object.values(JSON.parse(saved).counts)).toEqual([
      expectedTokens("the secret launch date is 2027-03-01")
    ])
  })

  it.each([
    ["not JSON", "{ half"],
    ["another format", JSON.stringify({ format: 99, counts: { a: 1 } })],
    ["counts that are not counts", JSON.stringify({ format: 1, counts: null })]
  ])("a damaged memo (%s) reads as empty: texts are counted again, and the memo is rewritten", (_, body) => {
    const file = memoFile()
    mkdirSync(join(file, ".."), { recursive: true })
    writeFileSync(file, body)
    const c = counter()
    const memo = TokenCounts.open(file, { count: c.count })
    expect(memo.expected("hello there")).toBe(expectedTokens("hello there"))
    expect(c.calls).toEqual(["hello there"])
    memo.save()
    expect(JSON.parse(readFileSync(file, "utf8")).format).toBe(1)
  })

  it("an entry with a bad value is dropped, the rest kept", () => {
    const file = memoFile()
    const good = TokenCounts.open(file)
    good.expected("kept text")
    good.save()
    const doc = JSON.parse(readFileSync(file, "utf8"))
    writeFileSync(file, JSON.stringify({ format: 1, counts: { ...doc.counts, bogus: -3, other: "7" } }))
    const c = counter()
    const memo = TokenCounts.open(file, { count: c.count })
    memo.expected("kept text")
    expect(c.calls).toEqual([])
  })

  it("keeps the entries the latest plans used, up to its cap", () => {
    const file = memoFile()
    const a = TokenCounts.open(file, { maxEntries: 3 })
    for (const t of ["one", "two", "three"]) a.expected(t)
    a.save()
    const b = TokenCounts.open(file, { maxEntries: 3 })
    b.expected("one") // used again by a later plan
    b.expected("four")
    b.save()
    expect(Object.keys(JSON.parse(readFileSync(file, "utf8")).counts)).toHaveLength(3)
    const c = counter()
    const d = TokenCounts.open(file, { count: c.count, maxEntries: 3 })
    for (const t of ["one", "three", "four", "two"]) d.expected(t)
    expect(c.calls).toEqual(["two"])
  })

  it("a plan of more texts than the cap keeps every one of them: the next plan counts nothing", () => {
    const file = memoFile()
    const texts = ["a", "b", "c", "d", "e"].map((t) => `text ${t}`)
    const a = TokenCounts.open(file, { maxEntries: 3 })
    for (const t of texts) a.expected(t)
    a.save()
    const c = counter()
    const b = TokenCounts.open(file, { count: c.count, maxEntries: 3 })
    for (const t of texts) b.expected(t)
    expect(c.calls).toEqual([])
  })

  it("a state dir it cannot write to costs nothing but the memo", () => {
    const blocker = join(mkdtempSync(join(tmpdir(), "tollgate-counts-")), "a-file")
    writeFileSync(blocker, "") // the state dir's path names a file: no write can succeed, even as root
    const memo = TokenCounts.open(TokenCounts.fileOf(blocker))
    expect(memo.expected("hello")).toBe(expectedTokens("hello"))
    expect(() => memo.save()).not.toThrow()
  })
})
