/**
 * At plan time an upstream step's output is not known: it stands in templates as a marker that
 * any field access keeps, so the rendered prompt shows where upstream text goes and its tokens
 * can be counted as that step's expected (and, for the bound, maximum) completion.
 */
import { Drop } from "liquidjs"

const MARK = "\u0000"

export class Upstream extends Drop {
  readonly marker: string
  constructor(marker: string) {
    super()
    this.marker = marker
  }
  override liquidMethodMissing(): Upstream {
    return this
  }
  override valueOf(): string {
    return this.marker
  }
  override toString(): string {
    return this.marker
  }
}

/** The marker of the step at `index` in dependency order. */
export const markerFor = (index: number): string => `${MARK}${index}${MARK}`

/** Whether a rendered text holds any upstream marker. */
export const hasMarker = (text: string): boolean => text.includes(MARK)

/** The indexes of the upstream steps whose markers a rendered text holds, and the text without them. */
export const splitMarkers = (text: string): { readonly upstream: number[]; readonly rest: string } => {
  const re = new RegExp(`${MARK}(\\d+)${MARK}`, "g")
  return { upstream: [...text.matchAll(re)].map((m) => Number(m[1])), rest: text.replace(re, "") }
}
