/**
 * The report's charts as inline SVG: grouped horizontal bars (cost per step), vertical columns
 * (requests per window, free requests per day) and a timeline of requests. Each chart is an
 * image with a title and a description for screen readers; the page puts a table of the same
 * numbers beside it. Pure: numbers in, markup out.
 */
import { esc } from "./Page.ts"

const WIDTH = 960

const svg = (id: string, title: string, desc: string, height: number, body: string): string =>
  `<svg id="${esc(id)}" viewBox="0 0 ${WIDTH} ${Math.ceil(height)}" role="img" aria-labelledby="${esc(id)}-t ${esc(id)}-d"><title id="${esc(id)}-t">${esc(title)}</title><desc id="${esc(id)}-d">${esc(desc)}</desc>${body}</svg>`

const n2 = (n: number) => Math.round(n * 100) / 100

/** Round tick steps for an axis from 0 to `max`: about five of them. */
export const ticks = (max: number, count = 5): number[] => {
  if (!(max > 0)) return [0]
  const raw = max / count
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag
  // the last tick at or above max, so the scale holds every value
  const last = Math.ceil(max / step - 1e-9)
  return Array.from({ length: last + 1 }, (_, i) => Number((i * step).toPrecision(12)))
}

export interface Series {
  readonly key: string
  readonly label: string
}

export interface BarGroup {
  readonly label: string
  /** One value per series, in the series' order; undefined draws nothing. */
  readonly values: ReadonlyArray<number | undefined>
}

/** Horizontal bars, a group per category and a bar per series, on one shared scale. */
export const groupedBars = (o: {
  readonly id: string
  readonly title: string
  readonly desc: string
  readonly series: ReadonlyArray<Series>
  readonly groups: ReadonlyArray<BarGroup>
  readonly format: (n: number) => string
}): string => {
  const left = 170
  const right = 110
  const bar = 14
  const gap = 3
  const groupGap = 14
  const top = 24
  const plot = WIDTH - left - right
  const max = Math.max(0, ...o.groups.flatMap((g) => g.values.map((v) => v ?? 0)))
  const axis = ticks(max)
  const scaleMax = axis[axis.length - 1]! > 0 ? axis[axis.length - 1]! : 1
  const x = (v: number) => left + (v / scaleMax) * plot
  const groupHeight = o.series.length * (bar + gap) + groupGap
  const height = top + o.groups.length * groupHeight + 8
  const grid = axis
    .map(
      (t) =>
        `<line class="grid" x1="${n2(x(t))}" x2="${n2(x(t))}" y1="${top - 6}" y2="${height - 8}"/><text class="muted" x="${n2(x(t))}" y="${top - 10}" text-anchor="middle">${esc(o.format(t))}</text>`
    )
    .join("")
  const bars = o.groups
    .map((g, gi) => {
      const y0 = top + gi * groupHeight
      const name = `<text x="${left - 8}" y="${y0 + (o.series.length * (bar + gap)) / 2 + 4}" text-anchor="end">${esc(g.label)}</text>`
      const rects = o.series
        .map((s, si) => {
          const v = g.values[si]
          if (v === undefined) return ""
          const y = y0 + si * (bar + gap)
          const w = Math.max(v > 0 ? 1.5 : 0, x(v) - left)
          return `<rect class="k-${esc(s.key)}" data-series="${esc(s.key)}" x="${left}" y="${y}" width="${n2(w)}" height="${bar}" rx="2"><title>${esc(`${g.label}, ${s.label}: ${o.format(v)}`)}</title></rect><text class="muted" x="${n2(left + w + 6)}" y="${y + bar - 3}">${esc(o.format(v))}</text>`
        })
        .join("")
      return name + rects
    })
    .join("")
  return svg(o.id, o.title, o.desc, height, grid + bars)
}

export interface Column {
  readonly label: string
  readonly value: number
  /** A longer text for the column's tooltip. */
  readonly title?: string
}

/** Vertical columns over labelled slots, with an optional dashed limit line. */
export const columns = (o: {
  readonly id: string
  readonly title: string
  readonly desc: string
  readonly columns: ReadonlyArray<Column>
  readonly kind: string
  readonly limit?: { readonly value: number; readonly label: string }
  /** Label every n-th slot (long series). */
  readonly labelEvery?: number
}): string => {
  const left = 56
  const right = 16
  const top = 16
  const plotH = 180
  const bottom = 40
  const plot = WIDTH - left - right
  const max = Math.max(1, o.limit?.value ?? 0, ...o.columns.map((c) => c.value))
  const axis = ticks(max, 4)
  const scaleMax = axis[axis.length - 1]!
  const y = (v: number) => top + plotH - (v / scaleMax) * plotH
  const slot = plot / Math.max(1, o.columns.length)
  const w = Math.min(48, Math.max(1, slot * 0.8))
  const every = o.labelEvery ?? Math.max(1, Math.ceil(o.columns.length / 12))
  const grid = axis
    .map(
      (t) =>
        `<line class="grid" x1="${left}" x2="${WIDTH - right}" y1="${n2(y(t))}" y2="${n2(y(t))}"/><text class="muted" x="${left - 6}" y="${n2(y(t) + 4)}" text-anchor="end">${t}</text>`
    )
    .join("")
  const cols = o.columns
    .map((c, i) => {
      const cx = left + i * slot + (slot - w) / 2
      const h = (c.value / scaleMax) * plotH
      const label =
        i % every === 0
          ? `<text class="muted" x="${n2(cx + w / 2)}" y="${top + plotH + 16}" text-anchor="middle">${esc(c.label)}</text>`
          : ""
      return `<rect class="k-${esc(o.kind)}" data-value="${c.value}" x="${n2(cx)}" y="${n2(y(c.value))}" width="${n2(w)}" height="${n2(h)}"><title>${esc(c.title ?? `${c.label}: ${c.value}`)}</title></rect>${label}`
    })
    .join("")
  const limit =
    o.limit === undefined
      ? ""
      : `<line class="k-quota" x1="${left}" x2="${WIDTH - right}" y1="${n2(y(o.limit.value))}" y2="${n2(y(o.limit.value))}"/><text x="${WIDTH - right}" y="${n2(y(o.limit.value) - 4)}" text-anchor="end">${esc(o.limit.label)}</text>`
  return svg(o.id, o.title, o.desc, top + plotH + bottom, grid + cols + limit)
}

export interface Span {
  readonly start: number
  readonly end: number
  /** ok, refused, failed or wait: its colour. */
  readonly kind: "ok" | "refused" | "failed" | "wait"
  readonly title: string
}

export interface Lane {
  readonly label: string
  /** Rows of spans that do not overlap (a lane is as tall as its concurrency). */
  readonly rows: ReadonlyArray<ReadonlyArray<Span>>
}

/** A timeline in seconds from the run's start: a lane per step, a thin row per concurrent request. */
export const timeline = (o: {
  readonly id: string
  readonly title: string
  readonly desc: string
  readonly lanes: ReadonlyArray<Lane>
  readonly durationMs: number
  /** Whole-run bands (a wait for the next day's quota). */
  readonly bands?: ReadonlyArray<Span>
}): string => {
  const left = 130
  const right = 16
  const top = 22
  const row = 6
  const laneGap = 12
  const plot = WIDTH - left - right
  const span = Math.max(1, o.durationMs)
  const x = (ms: number) => left + (Math.min(Math.max(ms, 0), span) / span) * plot
  let y = top
  const lanes = o.lanes
    .map((lane) => {
      const y0 = y
      const h = Math.max(1, lane.rows.length) * row
      y += h + laneGap
      const name = lane.label.length > 20 ? `${lane.label.slice(0, 19)}…` : lane.label
      const label = `<text x="${left - 8}" y="${n2(y0 + Math.min(h, 14) / 2 + 4)}" text-anchor="end">${esc(name)}</text>`
      const rects = lane.rows
        .flatMap((spans, ri) =>
          spans.map(
            (s) =>
              `<rect class="k-${s.kind}" data-kind="${s.kind}" x="${n2(x(s.start))}" y="${y0 + ri * row}" width="${n2(Math.max(1, x(s.end) - x(s.start)))}" height="${row - 1}"><title>${esc(s.title)}</title></rect>`
          )
        )
        .join("")
      return label + rects
    })
    .join("")
  const height = y + 14
  const secs = span / 1000
  const axis = ticks(secs, 8)
  const grid = axis
    .filter((t) => t <= secs)
    .map(
      (t) =>
        `<line class="grid" x1="${n2(x(t * 1000))}" x2="${n2(x(t * 1000))}" y1="${top - 4}" y2="${y}"/><text class="muted" x="${n2(x(t * 1000))}" y="${top - 8}" text-anchor="middle">${t}s</text>`
    )
    .join("")
  const bands = (o.bands ?? [])
    .map(
      (b) =>
        `<rect class="k-wait" opacity="0.35" x="${n2(x(b.start))}" y="${top}" width="${n2(Math.max(1, x(b.end) - x(b.start)))}" height="${Math.max(0, y - top - laneGap)}"><title>${esc(b.title)}</title></rect>`
    )
    .join("")
  return svg(o.id, o.title, o.desc, height, grid + bands + lanes)
}

/** Colour keys for a legend under a chart. */
export const legend = (items: ReadonlyArray<{ readonly cssVar: string; readonly label: string }>): string =>
  `<div class="legend" aria-hidden="true">${items.map((i) => `<span style="--c:var(${i.cssVar})">${esc(i.label)}</span>`).join("")}</div>`
