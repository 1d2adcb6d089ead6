/** Habits from other tools that would silently do the wrong thing here. */
import type { Diagnostic } from "../Diagnostics.ts"
import { stepMessages } from "../Pipeline.ts"
import { atIn, type Rule } from "./Rule.ts"

const GITHUB_EXPRESSION = /\$\{\{\s*([^}]*?)\s*\}\}/g

/** Row and column (1-based) of an offset in a text. */
const rowCol = (text: string, offset: number) => {
  const before = text.slice(0, offset)
  const row = before.split("\n").length
  return { row, col: offset - before.lastIndexOf("\n") }
}

/**
 * `${{ inputs.x }}` (GitHub Actions) renders as `$` plus the value: a diagnostic suggesting
 * `{{ inputs.x }}`. A `$` written before a Liquid tag on purpose can be written `{{ "$" }}`.
 */
export const githubExpressions: Rule = (ctx) => {
  const texts: Array<[ReadonlyArray<string | number>, string]> = [
    ...ctx.spec.steps.flatMap((s, i) => {
      const { messages, paths } = stepMessages(s, i)
      return messages.map((m, j): [ReadonlyArray<string | number>, string] => [paths[j]!, m.content])
    }),
    ...Object.entries(ctx.spec.outputs ?? {}).map(([name, t]): [ReadonlyArray<string | number>, string] => [
      ["outputs", name],
      t
    ])
  ]
  return texts.flatMap(([path, text]): Diagnostic[] =>
    [...text.matchAll(GITHUB_EXPRESSION)].map((m) => {
      const { row, col } = rowCol(text, m.index)
      return atIn(
        ctx,
        path,
        row,
        col,
        `"\${{ ${m[1]} }}" is GitHub Actions syntax and would send "$" plus the value; write "{{ ${m[1]} }}"`,
        "github-expression"
      )
    })
  )
}
