/** The renderers over plain data: tables, markdown and the progress line, as a person sees them. */

import { CatalogStore } from "@tollgate/core"
import { Policy } from "@tollgate/pricing"
import type { IoShape } from "@tollgate/runner/cli/Io"
import { Progress } from "@tollgate/runner/cli/Progress"
import { type Status, statusLines, wrap } from "@tollgate/runner/cli/StatusLines"
import type { PlanJson } from "@tollgate/runner/plan/PlanJson"
import { renderModels } from "@tollgate/runner/report/ModelsReport"
import { renderPlanMarkdown, renderPlanTable } from "@tollgate/runner/report/PlanReport"
import { renderSummary, renderSummaryMarkdown } from "@tollgate/runner/report/RunReport"
import { renderMarkdownTable, renderTable } from "@tollgate/runner/report/Table"
import type { RunSummary } from "@tollgate/runner/run/Summary"
import { settingsOf } from "@tollgate/runner/Settings"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"

const plan = {
  format_version: 2,
  pipeline: { name: "digest", file: "digest.yaml" },
  ok: false,
  complete: true,
  requests: { expected: 9, max: 9, cached: 1 },
  free_requests: 8,
  cost_usd: { expected: 0.0012, p90: 0.0021, max: 0.0049 },
  min_duration_s: 21,
  steps: [
    {
      id: "summarize",
      model: "openai/gpt-oss-20b:free",
      free: true,
      requests: 8,
      cached: 1,
      count_known: true,
      tokens: { prompt: { expected: 720, max: 3355 }, completion: { expected: 700, p90: 1400, max: 1400 } },
      cost_usd: { expected: 0, p90: 0, max: 0 },
      max_request_cost_usd: 0
    },
    {
      id: "digest",
      model: ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4.6"],
      free: false,
      requests: 1,
      cached: 0,
      count_known: true,
      tokens: { prompt: { expected: 834, max: 1708 }, completion: { expected: 250, p90: 500, max: 500 } },
      cost_usd: { expected: 0.0012, p90: 0.0021, max: 0.0049 },
      max_request_cost_usd: 0.0049
    }
  ],
  quota: {
    free_per_day: 50,
    free_used_today: 45,
    free_left_today: 5,
    days: [
      { date: "2026-11-23", free_requests: 5 },
      { date: "2026-11-24", free_requests: 3 }
    ]
  },
  account: {
    free_per_day: { value: 50, source: "provider" },
    credits_purchased_usd: { value: 0, source: "provider" },
    balance_usd: { value: null, source: "default" },
    free_used_today: { value: 45, source: "provider" },
    key_limit_usd: { limit: 5, remaining: 4.2, source: "provider" },
    budgets: [{ scope: "workspace", remaining_usd: 1.5, limit_usd: 2, resets_at: "2026-12-01T00:00:00Z" }]
  },
  budget: { max_cost_usd: 0.01, max_requests: null, max_free_requests: null, gate: "max" },
  violations: [
    { kind: "free_quota", message: "8 free-model requests exceed today's free quota left (5 of 50)" }
  ],
  catalog: { source: "bundled", label: "bundled snapshot", date: "2026-08-19", models: 414, skipped: 0 },
  base_url: "https://openrouter.ai/api/v1",
  hashes: { pipeline: "p", inputs: "i", data: {}, prices: "x" }
} as unknown as PlanJson

const steps = plan.steps.map((s, i) => ({
  ...s,
  actual: {
    requests: i === 0 ? 8 : 2,
    completed: s.requests,
    cached: s.cached,
    reused: 0,
    failed: 0,
    retries: i === 0 ? 1 : 1,
    rate_limited: i === 0 ? 1 : 0,
    skipped: false,
    cost_usd: i === 0 ? 0 : 0.00081,
    completion_tokens_mean: 90
  }
}))
const summary = {
  ...plan,
  status: "completed",
  run: { id: "20261123T120000Z-abcd1234", dir: "/runs/20261123T120000Z-abcd1234", provider: "http" },
  finished_at: "2026-11-23T12:00:30.000Z",
  actual: {
    requests: 10,
    cached: 1,
    reused: 0,
    retries: 2,
    rate_limited: 1,
    abandoned: 0,
    failed: 0,
    cost_usd: 0.00081,
    cost_usd_exact: "0.00081",
    cost_sources: { provider_usd: 0.00071, catalog_usd: 0, bound_usd: 0.0001 },
    truncated: 1,
    within_p90: true,
    duration_s: 30.2
  },
  cache: { hits: 1, misses: 8, writes: 8, corrupt: 0, evicted: 0 },
  steps,
  outputs: {}
} as unknown as RunSummary

describe("reports", () => {
  it("tables size columns to fit and align numbers right; markdown escapes pipes", () => {
    const cols = [{ header: "id" }, { header: "n", align: "right" as const }]
    expect(
      renderTable(cols, [
        ["a", "1"],
        ["bbb", "22"]
      ])
    ).toMatchInlineSnapshot(`
      "id    n
      ---  --
      a     1
      bbb  22
      "
    `)
    expect(renderMarkdownTable(cols, [["a|b", "1"]])).toMatchInlineSnapshot(`
      "| id | n |
      | --- | ---: |
      | a\\|b | 1 |
      "
    `)
  })

  it("the plan's terminal table fits 100 columns: a long fallback list, a large fan-out, packed and cached", () => {
    const big = {
      ...plan,
      steps: plan.steps.map((st) => ({
        ...st,
        id: `${st.id}-articles`.slice(0, 18),
        model: ["anthropic/claude-sonnet-4.6", "openai/gpt-4o-mini", "google/gemini-3.7-flash"],
        requests: 1_250_000,
        cached: 250_000,
        tokens: {
          prompt: { expected: 123_456_789, max: 987_654_321 },
          completion: { expected: 12_345_678, p90: 23_456_789, max: 98_765_432 }
        },
        cost_usd: { expected: 1234.567891, p90: 2345.678912, max: 9876.543219 }
      }))
    } as typeof plan
    const table = renderPlanTable(big).split("\n\n")[1]!
    for (const line of table.split("\n")) expect(line.length, line).toBeLessThanOrEqual(100)
    expect(table).toContain("  anthropic/claude-sonnet-4.6 > openai/gpt-4o-mini > google/gemini-3.7-flash")
  })

  it("a plan as a terminal table and as markdown", () => {
    expect(renderPlanTable(plan)).toMatchInlineSnapshot(`
      "plan: digest (digest.yaml)

      step           requests  prompt tok  completion tok  expected      p90      max
      ---------  ------------  ----------  --------------  --------  -------  -------
      summarize  8 (1 cached)    720/3355        700/1400        $0       $0       $0
        openai/gpt-oss-20b:free (free)
      digest                1    834/1708         250/500   $0.0012  $0.0021  $0.0049
        openai/gpt-4o-mini > anthropic/claude-sonnet-4.6

      requests: 9 to send, 1 cached
      cost: $0.0012 expected, $0.0021 likely high (p90), $0.0049 at most
      account: 50 free-model requests a day (provider), balance not known (no paid pacing), key limit $4.2 left of $5 (provider), workspace budget $1.5 left of $2 until 2026-12-01T00:00:00Z (provider)
      free-model requests: 8; today's quota: 45 used (provider), 5 left of 50
      free-model requests over 2 UTC days: 5 on 2026-11-23, 3 on 2026-11-24
      least time the rate limits allow: 21s
      budget: max_cost_usd $0.01 (gate: max)
      verdict: over a limit: free_quota
        ✗ free_quota: 8 free-model requests exceed today's free quota left (5 of 50)
      catalog: bundled snapshot 2026-08-19
      "
    `)
    expect(renderPlanMarkdown(plan)).toMatchInlineSnapshot(`
      "### ❌ Tollgate plan: \`digest\`

      | step | model | requests | cached | prompt tok (exp/max) | completion tok (exp/max) | cost expected | cost p90 | cost max |
      | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
      | summarize | openai/gpt-oss-20b:free (free) | 8 | 1 | 720/3355 | 700/1400 | $0 | $0 | $0 |
      | digest | openai/gpt-4o-mini > anthropic/claude-sonnet-4.6 | 1 | 0 | 834/1708 | 250/500 | $0.0012 | $0.0021 | $0.0049 |

      - requests: 9 to send, 1 cached
      - cost: $0.0012 expected, $0.0021 likely high (p90), $0.0049 at most
      - account: 50 free-model requests a day (provider), balance not known (no paid pacing), key limit $4.2 left of $5 (provider), workspace budget $1.5 left of $2 until 2026-12-01T00:00:00Z (provider)
      - free-model requests: 8; today's quota: 45 used (provider), 5 left of 50
      - free-model requests over 2 UTC days: 5 on 2026-11-23, 3 on 2026-11-24
      - least time the rate limits allow: 21s
      - budget: max_cost_usd $0.01 (gate: max)
      - verdict: over a limit: free_quota

      **Violations**

      - \`free_quota\`: 8 free-model requests exceed today's free quota left (5 of 50)

      <sub>catalog: bundled snapshot 2026-08-19</sub>
      "
    `)
  })

  it("a run summary as a terminal table and as markdown", () => {
    expect(renderSummary(summary)).toMatchInlineSnapshot(`
      "step       done  cached  retries  projected      max    actual
      ---------  ----  ------  -------  ---------  -------  --------
      summarize   8/8       1        1         $0       $0        $0
      digest      1/1       0        1    $0.0012  $0.0049  $0.00081

      status: completed
      requests: 10 sent (2 retries, 1 rate-limited), 1 cached, 0 reused from an interrupted run
      cost sources: $0.00081 in all, $0 of it estimated as tokens × catalog prices (no usage.cost), $0.0001 at its worst case (no usage)
      warning: 1 reply was cut off at max_tokens and kept (output.truncated: allow)
      cost: $0.00081 actual vs $0.0012 expected, $0.0021 likely high (p90: under it), $0.0049 at most
      time: 30s
      records: /runs/20261123T120000Z-abcd1234
      "
    `)
    expect(renderSummaryMarkdown(summary)).toMatchInlineSnapshot(`
      "### ✅ Tollgate run: \`digest\`

      | step | done | cached | retries | projected | max | actual |
      | --- | ---: | ---: | ---: | ---: | ---: | ---: |
      | summarize | 8/8 | 1 | 1 | $0 | $0 | $0 |
      | digest | 1/1 | 0 | 1 | $0.0012 | $0.0049 | $0.00081 |

      - status: completed
      - requests: 10 sent (2 retries, 1 rate-limited), 1 cached, 0 reused from an interrupted run
      - cost sources: $0.00081 in all, $0 of it estimated as tokens × catalog prices (no usage.cost), $0.0001 at its worst case (no usage)
      - warning: 1 reply was cut off at max_tokens and kept (output.truncated: allow)
      - cost: $0.00081 actual vs $0.0012 expected, $0.0021 likely high (p90: under it), $0.0049 at most
      - time: 30s
      - records: /runs/20261123T120000Z-abcd1234
      "
    `)
  })

  it("the models table with the free policy", () => {
    const catalog = CatalogStore.bundled()
    const models = ["openai/gpt-oss-20b:free", "openai/gpt-4o-mini"].map(
      (id) => catalog.resolveOrThrow(id).model
    )
    expect(renderModels(models, Policy.defaultPolicy, "table")).toMatchInlineSnapshot(`
      "model                    context  $/M in  $/M out  policy
      -----------------------  -------  ------  -------  --------------------------------------------------------
      openai/gpt-oss-20b:free   131072       0        0  free: 20 rpm (account), 50/day (<$10 bought) or 1000/day
      openai/gpt-4o-mini        128000    0.15      0.6
      "
    `)
  })
})

const ioWith = (over: Partial<IoShape>) => {
  let err = ""
  const io: IoShape = {
    out: () => {},
    err: (t) => {
      err += t
    },
    env: {},
    cwd: "/",
    stdoutIsTTY: false,
    stderrIsTTY: false,
    columns: undefined,
    interrupted: Effect.never,
    ...over
  }
  return { io, stderr: () => err }
}

/**
 * What a terminal shows after `text`: lines, `\r`, cursor up (`ESC[nA`), erase to the end of the
 * screen (`ESC[J`) and of the line (`ESC[K`), as the progress block uses them.
 */
const screen = (text: string): string[] => {
  const rows: string[] = [""]
  let row = 0
  let col = 0
  const ESC = String.fromCharCode(27)
  const tokens = new RegExp(`${ESC}\\[\\d*[AJK]|\\r|\\n|[^${ESC}\\r\\n]+`, "g")
  for (const token of text.match(tokens) ?? []) {
    if (token === "\n") {
      row++
      col = 0
      rows[row] ??= ""
    } else if (token === "\r") col = 0
    else if (token.startsWith("\x1b[") && token.endsWith("A"))
      row = Math.max(0, row - Number(token.slice(2, -1) || 1))
    else if (token === "\x1b[J") {
      rows[row] = rows[row]!.slice(0, col)
      rows.length = row + 1
    } else if (token === "\x1b[K") rows[row] = rows[row]!.slice(0, col)
    else {
      const line = rows[row] ?? ""
      rows[row] = line.slice(0, col) + token + line.slice(col + token.length)
      col += token.length
    }
  }
  while (rows.length > 0 && rows.at(-1) === "") rows.pop()
  return rows
}

describe("progress", () => {
  it("on a terminal the status block is redrawn in place, every line narrower than the terminal, the wait's reason whole", () => {
    const { io, stderr } = ioWith({ stderrIsTTY: true, columns: 40 })
    let now = 1_000_000
    const p = new Progress(io, { quiet: false, now: () => now })
    p.event({ type: "run-start", pipeline: "x", requests: 3, max_cost_usd: 0.5, min_duration_s: 10 })
    p.event({ type: "step-start", step: "a-rather-long-step-name", total: 3 })
    p.event({ type: "attempt", step: "a-rather-long-step-name", item: 0, attempt: 1, at: now, worst: "0" })
    const reason = "20 per 60 s (free models, account-wide)"
    p.event({ type: "waiting", step: "a-rather-long-step-name", item: 1, delayMs: 3000, reason, at: now })
    // events within 100 ms share a redraw: the timer's
    p.tick()
    const first = screen(stderr())
    for (const line of first) expect(line.length).toBeLessThan(40)
    expect(first.join(" ")).toContain(reason)
    expect(first.join(" ")).toContain("waits 3s (until")
    expect(first[1]).toBe("0s elapsed · ETA 10s · $0 of $0.5")
    // nothing happens for two seconds: the timer moves the clock and the countdown
    now += 2_000
    p.tick()
    const later = screen(stderr())
    expect(later[1]).toBe("2s elapsed · ETA 8s · $0 of $0.5")
    expect(later.join(" ")).toContain("waits 1s (until")
    // the wait is over: its lines go
    now += 1_500
    p.tick()
    expect(screen(stderr())).toHaveLength(2)
    p.done()
    expect(screen(stderr())).toEqual([])
  })

  it("a log line goes above the block, which is drawn again below it", () => {
    const { io, stderr } = ioWith({ stderrIsTTY: true, columns: 60 })
    const p = new Progress(io, { quiet: false, now: () => 0 })
    p.event({ type: "run-start", pipeline: "x", requests: 2, max_cost_usd: null })
    p.event({ type: "step-start", step: "a", total: 2 })
    p.event({ type: "warning", message: "something to know" })
    expect(screen(stderr())).toEqual([
      "warning: something to know",
      "a 0/2",
      "0s elapsed · ETA – · $0 · 0 in flight"
    ])
  })

  it("TERM=dumb on a terminal gets plain lines: no escape codes, no redraws", () => {
    const { io, stderr } = ioWith({ stderrIsTTY: true, columns: 80, env: { TERM: "dumb" } })
    // the settings read TERM from the environment, once, at the edge
    const { dumbTerminal } = Effect.runSync(settingsOf(io.env))
    const p = new Progress(io, { quiet: false, now: () => 0, dumbTerminal })
    p.event({ type: "run-start", pipeline: "x", requests: 2, max_cost_usd: null })
    p.event({ type: "step-start", step: "a", total: 2 })
    p.event({ type: "attempt", step: "a", item: 0, attempt: 1, at: 0, worst: "0" })
    p.event({ type: "step-end", step: "a", completed: 2, failed: 0 })
    p.done()
    expect(stderr()).not.toContain("\r")
    expect(stderr()).not.toContain("\x1b")
    expect(stderr()).toContain("step a: done (2 ok)\n")
  })

  it("a terminal on stdout only (stderr piped to a log) gets plain lines, not redraws", () => {
    const { io, stderr } = ioWith({ stdoutIsTTY: true, stderrIsTTY: false, columns: 40 })
    const p = new Progress(io, { quiet: false, now: () => 0 })
    p.event({ type: "step-start", step: "a", total: 2 })
    p.event({ type: "step-end", step: "a", completed: 2, failed: 0 })
    p.done()
    expect(stderr()).not.toContain("\r")
    expect(stderr()).toBe("step a: 2 requests\nstep a: done (2 ok)\n")
  })
})

describe("the status block's layout", () => {
  const status = (over: Partial<Status> = {}): Status => ({
    steps: [
      { id: "summarize", done: 20, total: 40 },
      { id: "classify", done: 40, total: 40 },
      { id: "digest", done: 0, total: 1 }
    ],
    elapsedMs: 72_000,
    etaS: 95,
    inFlight: 7,
    spent: 0.000557,
    budget: 0.5,
    wait: {
      label: "summarize[27]",
      reason: "20 per 60 s (free models, account-wide)",
      leftMs: 41_000,
      until: Date.parse("2026-12-04T17:15:06Z")
    },
    ...over
  })

  it.each([40, 60, 120])("at %i columns every line fits and the wait's reason is whole", (columns) => {
    const lines = statusLines(status(), columns)
    for (const l of lines) expect(l.length).toBeLessThan(columns)
    expect(lines.slice(2).join(" ")).toBe(
      "summarize[27] waits 41s (until 17:15:06Z) for 20 per 60 s (free models, account-wide)"
    )
  })

  it("drops what matters least as the terminal narrows: other steps, requests in flight, then the ETA", () => {
    expect(statusLines(status(), 120).slice(0, 2)).toEqual([
      "summarize 20/40 · classify 40/40 · digest 0/1",
      "1m 12s elapsed · ETA 1m 35s · $0.000557 of $0.5 · 7 in flight"
    ])
    expect(statusLines(status(), 40).slice(0, 2)).toEqual([
      "summarize 20/40 +1 more",
      "1m 12s elapsed · $0.000557 of $0.5"
    ])
    expect(statusLines(status(), 44)[0]).toBe("summarize 20/40 · digest 0/1 · 1 step done")
    expect(statusLines(status({ budget: undefined }), 40)[1]).toBe("1m 12s elapsed · ETA 1m 35s · $0.000557")
  })

  it("wraps words to the width, splitting only a word longer than it", () => {
    expect(wrap("aa bb cc", 5)).toEqual(["aa bb", "cc"])
    expect(wrap("abcdefgh ij", 4)).toEqual(["abcd", "efgh", "ij"])
  })
})
