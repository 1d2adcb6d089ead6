/**
 * The frame every HTML report shares: one self-contained document (inline CSS, inline SVG, a
 * few lines of inline script, a Content-Security-Policy that forbids any network), light and dark
 * from the reader's system, and the small builders its sections use. Everything that came from a
 * pipeline or a model is escaped here. Pure.
 */

/** Text made safe inside an element or a quoted attribute. */
export const esc = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** A figure a test or a script can read: `<data value="0.000878">$0.000878</data>`, named by its JSON path. */
export const figure = (key: string, value: number, shown: string): string =>
  `<data data-key="${esc(key)}" value="${value}">${esc(shown)}</data>`

/** A labelled figure in the totals strip at the top. */
export const card = (label: string, body: string, note = ""): string =>
  `<div class="card"><div class="label">${esc(label)}</div><div class="value">${body}</div>${
    note === "" ? "" : `<div class="note">${note}</div>`
  }</div>`

export interface Cell {
  readonly html: string
  readonly num?: boolean
}
/** A plain text cell, or one already made of HTML (`{ html }`). */
export type CellLike = string | Cell

const cellHtml = (c: CellLike): Cell => (typeof c === "string" ? { html: esc(c) } : c)

/** An accessible table: a caption, column headers with scope, numbers right-aligned. */
export const table = (
  caption: string,
  headers: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<CellLike>>,
  numeric: ReadonlyArray<boolean> = []
): string => {
  const th = headers
    .map((h, i) => `<th scope="col"${numeric[i] === true ? ' class="num"' : ""}>${esc(h)}</th>`)
    .join("")
  const body = rows
    .map(
      (r) =>
        `<tr>${r
          .map((c, i) => {
            const cell = cellHtml(c)
            return `<td${numeric[i] === true || cell.num === true ? ' class="num"' : ""}>${cell.html}</td>`
          })
          .join("")}</tr>`
    )
    .join("\n")
  return `<table><caption>${esc(caption)}</caption><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`
}

/** A titled section with an anchor (`#id`) the page's contents link to. */
export const section = (id: string, title: string, body: string): string =>
  `<section id="${esc(id)}" aria-labelledby="${esc(id)}-h"><h2 id="${esc(id)}-h">${esc(title)}</h2>\n${body}\n</section>`

const CSS = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--card:#f6f8fa;
--accent:#0969da;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--wait:#afb8c1;--p90:#8250df;--max:#bc4c00;--free:#1a7f37}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;--card:#151b23;
--accent:#4493f8;--ok:#3fb950;--warn:#d29922;--bad:#f85149;--wait:#656c76;--p90:#ab7df8;--max:#db6d28;--free:#3fb950}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.25em;margin:32px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
a{color:var(--accent)}a:focus-visible,summary:focus-visible,input:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
.sub{color:var(--muted);margin:0 0 16px}
nav ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:4px 16px;margin:8px 0 0}
.status{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;border:1px solid currentColor}
.status.good{color:var(--ok)}.status.bad{color:var(--bad)}.status.warn{color:var(--warn)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(180px,1fr));gap:12px;margin:16px 0}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 14px}
.card .label{color:var(--muted);font-size:.85em}.card .value{font-size:1.35em;font-weight:600}.card .note{color:var(--muted);font-size:.85em}
table{border-collapse:collapse;width:100%;margin:8px 0 16px;font-variant-numeric:tabular-nums}
caption{text-align:left;color:var(--muted);font-size:.9em;padding-bottom:4px}
th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th.num,td.num{text-align:right;white-space:nowrap}
svg{display:block;width:100%;height:auto;max-width:100%}
svg text{fill:var(--fg);font:12px system-ui,sans-serif}svg .muted{fill:var(--muted)}
svg .grid{stroke:var(--line)}svg .axis{stroke:var(--muted)}
.k-expected{fill:var(--accent)}.k-p90{fill:var(--p90)}.k-max{fill:var(--max)}.k-actual{fill:var(--ok)}
.k-ok{fill:var(--ok)}.k-refused{fill:var(--warn)}.k-failed{fill:var(--bad)}.k-wait{fill:var(--wait)}.k-free{fill:var(--free)}
.k-quota{stroke:var(--bad);stroke-dasharray:4 3}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:.9em;color:var(--muted);margin:4px 0}
.legend span::before{content:"";display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px;background:var(--c)}
details{border:1px solid var(--line);border-radius:8px;margin:8px 0;padding:4px 12px}
summary{cursor:pointer;font-weight:600;padding:4px 0}
pre{margin:0;white-space:pre-wrap;word-break:break-word;font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;max-height:16em;overflow:auto}
input[type=search]{font:inherit;padding:4px 8px;border:1px solid var(--line);border-radius:6px;background:var(--bg);color:var(--fg);width:min(420px,100%)}
.muted{color:var(--muted)}
@media print{details{break-inside:avoid}}
`

/** Filters each outputs table by the text typed in its search box; counts what stays shown. */
const SCRIPT = `
for (const box of document.querySelectorAll("input[data-filter]")) {
  const rows = Array.from(document.querySelectorAll("#" + box.dataset.filter + " tbody tr"))
  const count = document.getElementById(box.dataset.filter + "-count")
  box.addEventListener("input", () => {
    const q = box.value.toLowerCase()
    let shown = 0
    for (const r of rows) {
      const hit = q === "" || r.textContent.toLowerCase().includes(q)
      r.hidden = !hit
      if (hit) shown++
    }
    count.textContent = shown + " of " + rows.length + " shown"
  })
}
`

export interface PageParts {
  readonly title: string
  readonly heading: string
  readonly subtitle: string
  readonly sections: ReadonlyArray<{ readonly id: string; readonly title: string; readonly body: string }>
  /** HTML shown between the subtitle and the sections (the totals). */
  readonly top: string
}

/** The whole document. */
export const page = (p: PageParts): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="color-scheme" content="light dark">
<title>${esc(p.title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header>
<h1>${esc(p.heading)}</h1>
<p class="sub">${p.subtitle}</p>
<nav aria-label="sections"><ul>${p.sections.map((s) => `<li><a href="#${esc(s.id)}">${esc(s.title)}</a></li>`).join("")}</ul></nav>
</header>
${p.top}
${p.sections.map((s) => section(s.id, s.title, s.body)).join("\n")}
</main>
<script>${SCRIPT}</script>
</body>
</html>
`
