import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { expectedTokens } from "@tollgate/runner/plan/TokenEstimate"
import * as TokenMemo from "@tollgate/runner/plan/TokenMemo"
import * as MemoStore from "@tollgate/runner/store/TokenMemoStore"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import { describe, expect, it } from "vitest"

/** The counts in a memo file, in file order (its records: two key halves and a count each). */
const countsIn = (file: string): number[] => {
  const records = MemoStore.recordsOf(readFileSync(file)).records
  return Array.from({ length: records.length / 3 }, (_, k) => records[3 * k + 2]!)
}

const nodeFs = Effect.runSync(Effect.provide(FileSystem.FileSystem, NodeFileSystem.layer))
const open = (file: string, options?: TokenMemo.Options) =>
  Effect.runPromise(TokenMemo.open(MemoStore.fileStore(file, nodeFs), options))
const save = (memo: TokenMemo.TokenMemo) => Effect.runPromise(memo.save)

const memoFile = () => MemoStore.fileOf(mkdtempSync(join(tmpdir(), "tollgate-counts-")))

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
  it("a text counted once is answered from the memo by the next process, without counting", async () => {
    const file = memoFile()
    const texts = ["Summarize: the quick brown fox.", "Translate to French: good morning", "x ".repeat(500)]
    const first = counter()
    const a = await open(file, { count: first.count })
    const counted = texts.map(a.expected)
    await save(a)
    expect(first.calls).toEqual(texts)
    const second = counter()
    const b = await open(file, { count: second.count })
    expect(texts.map(b.expected)).toEqual(counted)
    expect(second.calls).toEqual([])
    expect(counted).toEqual(texts.map(expectedTokens))
  })

  it("stores digests and counts, never the text", async () => {
    const file = memoFile()
    const memo = await open(file)
    memo.expected("the secret launch date is 2027-03-01")
    await save(memo)
    const saved = readFileSync(file, "latin1")
    expect(saved).not.toMatch(/secret|launch|2027/)
    expect(countsIn(file)).toEqual([expectedTokens("the secret launch date is 2027-03-01")])
  })

  const mark = Buffer.alloc(4)
  mark.writeUInt32LE(MemoStore.MARK)
  it.each([
    ["not a memo", Buffer.from("{ half")],
    ["another format", Buffer.concat([Buffer.from("TGC9"), Buffer.alloc(12, 1)])],
    ["the earlier format, keyed by SHA-256", Buffer.concat([Buffer.from("TGC1"), Buffer.alloc(12, 1)])],
    ["only part of a record", Buffer.concat([mark, Buffer.alloc(7, 1)])]
  ])(
    "a damaged memo (%s) reads as empty: texts are counted again, and the memo is rewritten",
    async (_, body) => {
      const file = memoFile()
      mkdirSync(join(file, ".."), { recursive: true })
      writeFileSync(file, body)
      const c = counter()
      const memo = await open(file, { count: c.count })
      expect(memo.expected("hello there")).toBe(expectedTokens("hello there"))
      expect(c.calls).toEqual(["hello there"])
      await save(memo)
      expect(readFileSync(file).readUInt32LE(0)).toBe(MemoStore.MARK)
      expect(countsIn(file)).toEqual([expectedTokens("hello there")])
    }
  )

  it("a record a kill cut short is left out, the whole ones kept; a negative count is dropped", async () => {
    const file = memoFile()
    const good = await open(file)
    good.expected("kept text")
    good.expected("damaged text")
    await save(good)
    const bytes = readFileSync(file)
    bytes.writeInt32LE(-3, 4 + 12 + 8) // the second record's count
    writeFileSync(file, Buffer.concat([bytes, Buffer.alloc(5, 7)]))
    const c = counter()
    const memo = await open(file, { count: c.count })
    memo.expected("kept text")
    memo.expected("damaged text")
    expect(c.calls).toEqual(["damaged text"])
    // the next save rewrites the file whole: later records are not misaligned by the cut one
    await save(memo)
    const again = counter()
    const next = await open(file, { count: again.count })
    next.expected("kept text")
    next.expected("damaged text")
    expect(again.calls).toEqual([])
  })

  it("a save appends what the plan added, and rewrites nothing it already had", async () => {
    const file = memoFile()
    const a = await open(file)
    a.expected("first text")
    await save(a)
    const b = await open(file)
    b.expected("first text")
    b.expected("second text")
    await save(b)
    expect(countsIn(file)).toEqual([expectedTokens("first text"), expectedTokens("second text")])
    expect(readFileSync(file).length).toBe(4 + 2 * 12)
  })

  it("keeps the entries the latest plans used, up to its cap", async () => {
    const file = memoFile()
    const a = await open(file, { maxEntries: 3 })
    for (const t of ["one", "two", "three"]) a.expected(t)
    await save(a)
    const b = await open(file, { maxEntries: 3 })
    b.expected("one") // used again by a later plan
    b.expected("four")
    await save(b)
    expect(countsIn(file)).toHaveLength(3)
    const c = counter()
    const d = await open(file, { count: c.count, maxEntries: 3 })
    for (const t of ["one", "three", "four", "two"]) d.expected(t)
    expect(c.calls).toEqual(["two"])
  })

  it("a plan of more texts than the cap keeps every one of them: the next plan counts nothing", async () => {
    const file = memoFile()
    const texts = ["a", "b", "c", "d", "e"].map((t) => `text ${t}`)
    const a = await open(file, { maxEntries: 3 })
    for (const t of texts) a.expected(t)
    await save(a)
    const c = counter()
    const b = await open(file, { count: c.count, maxEntries: 3 })
    for (const t of texts) b.expected(t)
    expect(c.calls).toEqual([])
  })

  it("a state dir it cannot write to costs nothing but the memo", async () => {
    const blocker = join(mkdtempSync(join(tmpdir(), "tollgate-counts-")), "a-file")
    writeFileSync(blocker, "") // the state dir's path names a file: no write can succeed, even as root
    const memo = await open(MemoStore.fileOf(blocker))
    expect(memo.expected("hello")).toBe(expectedTokens("hello"))
    await expect(save(memo)).resolves.toBeUndefined()
  })
})
