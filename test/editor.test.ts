/**
 * What an editor makes of a pipeline, asked of the YAML language server itself (the one VS Code,
 * Neovim and others run): the `$schema` modeline `runner init` writes loads from any folder,
 * model ids complete from the catalog while a hover stays short, and the schema catches a step
 * reference that is not a step id and a `for_each` in braces, with our messages.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { describe, expect, it } from "vitest"
import { TextDocument } from "vscode-languageserver-textdocument"
import { getLanguageService } from "yaml-language-server"
import { ROOT, runCli } from "./support/cli.ts"

const SCHEMA = join(ROOT, "packages/runner/schemas/pipeline.schema.json")

/** A language service that reads schemas from disk, as an editor does for a relative modeline. */
const languageService = () => {
  const ls = getLanguageService({
    schemaRequestService: async (uri: string) => readFileSync(fileURLToPath(uri), "utf8"),
    workspaceContext: {
      resolveRelativePath: (relative: string, resource: string) => new URL(relative, resource).href
    }
  })
  ls.configure({ validate: true, hover: true, completion: true })
  return ls
}

/** The pipeline `runner init <folder>` wrote, edited, as an open document. */
const initIn = async (project: string, folder: string, edit: (text: string) => string = (t) => t) => {
  const r = await runCli(["init", folder], { cwd: project })
  expect(r.code, r.stderr).toBe(0)
  const file = join(project, folder, "pipeline.yaml")
  const text = edit(readFileSync(file, "utf8"))
  return { file, text, doc: TextDocument.create(pathToFileURL(file).href, "yaml", 1, text) }
}

const at = (text: string, needle: string, offset = 0) => {
  const i = text.indexOf(needle) + offset
  const before = text.slice(0, i).split("\n")
  return { line: before.length - 1, character: before.at(-1)!.length }
}

describe("the pipeline in an editor", () => {
  it("init two folders down in a project writes a modeline to the project's installed schema, which loads and checks", async () => {
    const project = mkdtempSync(join(tmpdir(), "tg-editor-"))
    const installed = join(project, "node_modules/@tollgate/runner/schemas/pipeline.schema.json")
    mkdirSync(dirname(installed), { recursive: true })
    copyFileSync(SCHEMA, installed)
    const { text, doc } = await initIn(project, "pipelines/nightly", (t) =>
      t
        .replace("  - id: digest\n", "  - id: digest\n    needs: [Summarize]\n")
        .replace("for_each: inputs.notes", 'for_each: "{{ inputs.notes }}"')
    )
    expect(text.split("\n")[0]).toBe(
      "# yaml-language-server: $schema=../../node_modules/@tollgate/runner/schemas/pipeline.schema.json"
    )
    const problems = (await languageService().doValidation(doc, false)).map((d) => d.message)
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining("a step id, as the step's `id:` spells it"),
        expect.stringContaining("an expression without braces")
      ])
    )
    // the untouched starter has nothing to say
    const clean = await initIn(project, "pipelines/other")
    expect(await languageService().doValidation(clean.doc, false)).toEqual([])
  })

  it("without an installed copy the modeline points at the running runner's schema", async () => {
    const project = mkdtempSync(join(tmpdir(), "tg-editor-"))
    const { file, text } = await initIn(project, "deep/er/still")
    const ref = /\$schema=(\S+)/.exec(text)![1]!
    expect(readFileSync(join(dirname(file), ref), "utf8")).toBe(readFileSync(SCHEMA, "utf8"))
  })

  it("model ids complete from the catalog; hovering a model is a sentence, not the catalog", async () => {
    const project = mkdtempSync(join(tmpdir(), "tg-editor-"))
    const { text, doc } = await initIn(project, ".")
    const ls = languageService()
    const hover = await ls.doHover(doc, at(text, "model: openai/gpt-oss-20b:free", "model: ".length + 3))
    expect(hover).not.toBeNull()
    const shown = (hover!.contents as { value: string }).value
    expect(shown).toContain("runner models")
    expect(shown.length).toBeLessThan(400)

    const blank = text.replace(
      "model: openai/gpt-oss-20b:free\n    max_tokens: 120",
      "model: \n    max_tokens: 120"
    )
    const edited = TextDocument.create(doc.uri, "yaml", 2, blank)
    const list = await ls.doComplete(edited, at(blank, "model: \n", "model: ".length), false)
    const labels = list.items.map((i) => i.label)
    expect(labels).toContain("openai/gpt-4o-mini")
    expect(labels).toContain("openai/gpt-oss-20b:free")
    expect(labels.length).toBeGreaterThan(300)
  })
})
