import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { sha256 } from "@tollgate/core/Fingerprint"
import { parseJsonl, readDataFile } from "@tollgate/runner/dsl/DataFiles"
import { describe, expect, it } from "vitest"

const fileOf = (text: string) => {
  const path = join(mkdtempSync(join(tmpdir(), "tg-data-")), "rows.jsonl")
  writeFileSync(path, text)
  return path
}

describe("a JSON Lines file read in chunks", () => {
  it("over many 1 MB chunks, with characters of 1 to 4 bytes at every offset, blank lines and no last newline: the rows, lines and hash of the whole text", () => {
    const words = ["a", "é", "中", "😀", "x y", ""]
    const rows: string[] = []
    for (let i = 0, size = 0; size < 3.5 * 1024 * 1024; i++) {
      const row =
        i % 97 === 5 ? "" : JSON.stringify({ id: i, text: words[i % words.length]!.repeat(1 + (i % 13)) })
      rows.push(row)
      size += Buffer.byteLength(row) + 1
    }
    const whole = rows.join("\n") // no newline at the end
    const read = readDataFile(fileOf(whole))
    const parsed = parseJsonl(whole)
    expect(read.value).toEqual(parsed.value)
    expect(read.lines).toEqual(parsed.lines)
    expect(read.sha256).toBe(sha256(whole))
    expect((read.value as unknown[]).length).toBeGreaterThan(50_000)
  })

  it("a bad row names its own line, past the first chunk", () => {
    const rows = Array.from({ length: 40_000 }, (_, i) => JSON.stringify({ id: i, pad: "p".repeat(40) }))
    rows[30_000] = '{"id": 30000, "broken": }'
    expect(() => readDataFile(fileOf(`${rows.join("\n")}\n`))).toThrow(
      expect.objectContaining({ line: 30_001 })
    )
  })

  it("a byte-order mark is not part of the first row, nor of the hash", () => {
    const body = '{"a": 1}\n{"a": 2}\n'
    const read = readDataFile(fileOf(`\ufeff${body}`))
    expect(read.value).toEqual([{ a: 1 }, { a: 2 }])
    expect(read.sha256).toBe(sha256(body))
  })
})
