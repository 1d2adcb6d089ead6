#!/usr/bin/env bash
# The GitHub Action's step (action.yml): runs `runner plan|run`, writes the plan or run summary
# to $GITHUB_STEP_SUMMARY (diagnostics too, when the pipeline is invalid), turns diagnostics into
# workflow annotations, sets the outputs cost-expected, cost-max and exit-code, and exits with
# the runner's code. Inputs come as environment variables (never interpolated into the script).
set -uo pipefail
runner="$RUNNER_TEMP/tollgate/node_modules/.bin/runner"
case "$COMMAND" in plan | run | merge) ;; *) echo "::error::command must be plan, run or merge, not '$COMMAND'"; exit 2 ;; esac
case "$FORMAT" in markdown | json) ;; *) echo "::error::format must be markdown or json, not '$FORMAT'"; exit 2 ;; esac

plan_json="$RUNNER_TEMP/tollgate-plan.json"
rm -f "$plan_json"
args=("$COMMAND" "$PIPELINE" --format "$FORMAT")
[ -n "$MAX_COST" ] && args+=(--max-cost "$MAX_COST")
if [ "$COMMAND" = plan ]; then args+=(--out "$plan_json"); else args+=(--out-dir "$OUT_DIR"); fi
[ -n "${SHARD:-}" ] && args+=(--shard "$SHARD")

"$runner" "${args[@]}" >"$RUNNER_TEMP/tollgate-out" 2>"$RUNNER_TEMP/tollgate-err"
code=$?
cat "$RUNNER_TEMP/tollgate-err" >&2

{
  if [ "$FORMAT" = json ]; then printf '```json\n'; cat "$RUNNER_TEMP/tollgate-out"; printf '```\n'; else cat "$RUNNER_TEMP/tollgate-out"; fi
  if [ -s "$RUNNER_TEMP/tollgate-err" ] && [ "$code" -ne 0 ]; then
    printf '\n**runner %s exited %s**\n\n```\n' "$COMMAND" "$code"
    cat "$RUNNER_TEMP/tollgate-err"
    printf '```\n'
  fi
} >>"$GITHUB_STEP_SUMMARY"

# file:line:col: message [rule]  →  ::error file=…,line=…,col=…::message [rule]
sed -nE 's/^([^: ]+):([0-9]+):([0-9]+): (.*)$/::error file=\1,line=\2,col=\3::\4/p' "$RUNNER_TEMP/tollgate-err"

# the plan's costs: from the saved plan (plan), else from the run's newest summary (run)
source_json="$plan_json"
if [ "$COMMAND" != plan ]; then source_json=$(ls -t "$OUT_DIR"/*/summary.json 2>/dev/null | head -n 1); fi
expected="" max=""
if [ -n "$source_json" ] && [ -f "$source_json" ]; then
  read -r expected max < <(node -e 'const p=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(p.cost_usd.expected, p.cost_usd.max)' "$source_json")
fi
{
  echo "cost-expected=$expected"
  echo "cost-max=$max"
  echo "exit-code=$code"
} >>"$GITHUB_OUTPUT"
exit "$code"
