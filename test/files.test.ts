/**
 * Files go through Effect's `FileSystem`: a command given a file system that refuses to write
 * (a read-only mount, a full disk) ends with one line naming the file, exit 1, and writes nothing;
 * one that reads from elsewhere is read from. Before, such a failure was a defect ("internal error").
 */
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { Effect, type FileSystem } from "effect"
import { systemError } from "effect/PlatformError"
import { describe, expect, it } from "vitest"
import { nodeFs, runCli, tempHome } from "./support/cli.ts"
import { writeDir } from "./support/pipelines.ts"

const node = nodeFs

/** Node's file system, except that every write is refused as on a read-only mount. */
const readOnly: FileSystem.FileSystem = {
  ...node,
  writeFile: (path) =>
    Effect.fail(
      systemError({
        _tag: "PermissionDenied",
        module: "FileSystem",
        method: "writeFile",
        pathOrDescriptor: path
      })
    ),
  writeFileString: (path) =>
    Effect.fail(
      systemError({
        _tag: "PermissionDenied",
        module: "FileSystem",
        method: "writeFileString",
        pathOrDescriptor: path
      })
    )
}

const PIPELINE = `version: 1\nname: f\nsteps:\n  - { id: a, model: openai/gpt-4o-mini, prompt: "hi", max_tokens: 5 }\n`

describe("files through the FileSystem service", () => {
  it("runner init on a read-only file system: exit 1, one line naming the file, nothing written", async () => {
    const dir = join(tempHome(), "new")
    const r = await runCli(["init", dir], { fileSystem: readOnly })
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr).toContain(join(dir, "pipeline.yaml"))
    expect(r.stderr).toContain("PermissionDenied")
    expect(r.stderr).not.toContain("internal error")
    expect(existsSync(join(dir, "pipeline.yaml"))).toBe(false)
  })

  it("runner plan --out and --json-file on a read-only file system: exit 1 naming the file", async () => {
    const dir = writeDir({ "p.yaml": PIPELINE })
    for (const flag of ["--out", "--json-file"]) {
      const r = await runCli(["plan", "p.yaml", flag, "saved.json"], { cwd: dir, fileSystem: readOnly })
      expect(r.code, r.stderr).toBe(1)
      expect(r.stderr).toContain(join(dir, "saved.json"))
      expect(r.stderr).not.toContain("internal error")
    }
    expect(readdirSync(dir)).toEqual(["p.yaml"])
  })

  it("a write whose last step (the rename) fails leaves no temp file, and says which file", async () => {
    const dir = writeDir({ "p.yaml": PIPELINE })
    const noRename: FileSystem.FileSystem = {
      ...node,
      rename: (from) =>
        Effect.fail(
          systemError({ _tag: "Busy", module: "FileSystem", method: "rename", pathOrDescriptor: from })
        )
    }
    const r = await runCli(["plan", "p.yaml", "--out", "saved.json"], { cwd: dir, fileSystem: noRename })
    expect(r.code, r.stderr).toBe(1)
    expect(r.stderr).toContain("saved.json")
    expect(readdirSync(dir)).toEqual(["p.yaml"])
  })

  it("the pipeline is read through the file system it is given", async () => {
    const dir = writeDir({ "p.yaml": PIPELINE })
    // the file on disk is valid; the file system the command is given says otherwise
    const other: FileSystem.FileSystem = {
      ...node,
      readFileString: (path, encoding) =>
        path.endsWith("p.yaml")
          ? Effect.succeed("version: 1\nname: [\n")
          : node.readFileString(path, encoding)
    }
    const r = await runCli(["validate", "p.yaml"], { cwd: dir, fileSystem: other })
    expect(r.code).toBe(2)
    expect(r.stdout + r.stderr).toMatch(/p\.yaml:\d+:\d+/)
    expect((await runCli(["validate", "p.yaml"], { cwd: dir })).code).toBe(0)
  })

  it("a FIFO named as the pipeline is refused as not a regular file, not read (it would hang)", async () => {
    const dir = writeDir({})
    expect(spawnSync("mkfifo", [join(dir, "p.yaml")]).status).toBe(0)
    for (const command of ["plan", "run"]) {
      const r = await runCli([command, "p.yaml", "--echo"].slice(0, command === "run" ? 3 : 2), { cwd: dir })
      expect(r.code).toBe(2)
      expect(r.stdout + r.stderr).toContain("not a regular file")
    }
  })
})
