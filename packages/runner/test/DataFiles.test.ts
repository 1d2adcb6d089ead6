import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { sha256 } from "@tollgate/core/Fingerprint"
import { jsonlParser, parseJsonl, readDataFile as read } from "@tollgate/runner/dsl/DataFiles"
import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"

const readDataFile = (path: string) =>
  Effect.runPromise(read(path).pipe(Effect.provide(NodeFileSystem.layer)))

const fileOf = (text: string) => {
  const path = join(mkdtempSync(join(tmpdir(), "tg-data-")), "rows.jsonl")
  writeFileSync(path, text)
  return path
}

describe("a JSON Lines file read in chunks", () => {
  it("over many 1 MB chunks, with characters of 1 to 4 bytes at every offset, blank lines and no last newline: the rows, lines and hash of the whole text", async () => {
    const words = ["a", "é", "中", "😀", "x y", ""]
    const rows: string[] = []
    for (let i = 0, size = 0; size < 3.5 * 1024 * 1024; i++) {
      const row =
        i % 97 === 5 ? "" : JSON.stringify({ id: i, text: words[i % words.length]!.repeat(1 + (i % 13)) })
      rows.push(row)
      size += Buffer.byteLength(row) + 1
    }
    const whole = rows.join("\n") // no newline at the end
    const read = await readDataFile(fileOf(whole))
    const parsed = parseJsonl(whole)
    expect(read.value).toEqual(parsed.value)
    expect(read.lines).toEqual(parsed.lines)
    expect(read.sha256).toBe(sha256(whole))
    expect((read.value as unknown[]).length).toBeGreaterThan(50_000)
  })

  it("a bad row names its own line, past the first chunk", async () => {
    const rows = Array.from({ length: 40_000 }, (_, i) => JSON.stringify({ id: i, pad: "p".repeat(40) }))
    rows[30_000] = '{"id": 30000, "broken": }'
    await expect(readDataFile(fileOf(`${rows.join("\n")}\n`))).rejects.toThrow(
      expect.objectContaining({ line: 30_001 })
    )
  })

  it("a byte-order mark is not part of the first row, nor of the hash", async () => {
    const body = '{"a": 1}\n{"a": 2}\n'
    const read = await readDataFile(fileOf(`\ufeff${body}`))
    expect(read.value).toEqual([{ a: 1 }, { a: 2 }])
    expect(read.sha256).toBe(sha256(body))
  })

  it("fed in chunks of 1 to 7 bytes, splitting every character and line: the same rows, lines and hash", () => {
    const text = `\ufeff${["a", "é", "中", "😀", ""].map((w, i) => (w === "" ? "" : JSON.stringify({ i, w: w.repeat(i + 1) }))).join("\n")}\n{"last": "😀"}`
    const bytes = Buffer.from(text)
    const whole = parseJsonl(text.slice(1))
    for (let size = 1; size <= 7; size++) {
      const parser = jsonlParser()
      for (let at = 0; at < bytes.length; at += size) parser.push(bytes.subarray(at, at + size))
      const read = parser.end()
      expect(read.value).toEqual(whole.value)
      expect(read.lines).toEqual(whole.lines)
      expect(read.sha256).toBe(sha256(text.slice(1)))
    }
    // a file that is only the start of a mark is data (not JSON), not silently empty
    const lone = jsonlParser()
    lone.push(Buffer.from([0xef, 0xbb]))
    expect(() => lone.end()).toThrow(/invalid JSON/)
  })
})
