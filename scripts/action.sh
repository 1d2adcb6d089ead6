#!/usr/bin/env bash
# The GitHub Action's step (action.yml): runs `runner plan|run|merge`, writes what it printed to
# the log and to $GITHUB_STEP_SUMMARY, turns diagnostics into annotations (paths from the
# repository's root, under working-directory too), sets the outputs from this invocation's own
# JSON (--json-file: never an earlier run's), and exits with the runner's code. With COMPARE_REF,
# plan also plans the pipeline as it is at that ref and shows what the change does to the bill;
# with COMMENT=true on a pull request, that diff is one comment, updated on each push. Inputs
# come as environment variables (never interpolated into the script).
set -uo pipefail
runner="$RUNNER_TEMP/tollgate/node_modules/.bin/runner"
case "$COMMAND" in plan | run | merge) ;; *) echo "::error::command must be plan, run or merge, not '$COMMAND'"; exit 2 ;; esac
case "$FORMAT" in markdown | json) ;; *) echo "::error::format must be markdown or json, not '$FORMAT'"; exit 2 ;; esac
case "${FAIL_ON:-expected}" in expected | max) ;; *) echo "::error::fail-on must be expected or max, not '$FAIL_ON'"; exit 2 ;; esac
if [ -n "${COMPARE_REF:-}" ] && [ "$COMMAND" != plan ]; then echo "::error::compare-ref goes with command: plan"; exit 2; fi

out="$RUNNER_TEMP/tollgate-out" err="$RUNNER_TEMP/tollgate-err" json="$RUNNER_TEMP/tollgate.json"
base_json="$RUNNER_TEMP/tollgate-base.json"
rm -f "$out" "$err" "$json" "$base_json"

# where the working directory sits in the repository: annotations name files from its root
here=$(pwd -P)
workspace=$(cd "${GITHUB_WORKSPACE:-$here}" && pwd -P)
prefix=""
case "$here/" in "$workspace"/*) prefix="${here#"$workspace"}" prefix="${prefix#/}" ;; esac
[ -n "$prefix" ] && prefix="$prefix/"

# the pipeline as it is at COMPARE_REF, planned in a worktree of that commit (same relative place)
plan_base() {
  git rev-parse --verify --quiet "$COMPARE_REF^{commit}" >/dev/null ||
    git fetch --quiet --no-tags --depth=1 origin "$COMPARE_REF" || return 1
  local tree="$RUNNER_TEMP/tollgate-base"
  git worktree remove --force "$tree" >/dev/null 2>&1
  git worktree add --quiet --detach "$tree" "$COMPARE_REF" || return 1
  local top
  top=$(git rev-parse --show-toplevel)
  (cd "$tree/${here#"$(cd "$top" && pwd -P)"}" && "$runner" plan "$PIPELINE" --out "$base_json" >/dev/null 2>"$RUNNER_TEMP/tollgate-base-err")
  local code=$?
  git worktree remove --force "$tree" >/dev/null 2>&1
  # over a limit (exit 3) is a plan all the same
  [ "$code" -eq 0 ] || [ "$code" -eq 3 ]
}

args=("$COMMAND" "$PIPELINE" --format "$FORMAT" --json-file "$json")
[ -n "$MAX_COST" ] && args+=(--max-cost "$MAX_COST")
if [ "$COMMAND" != plan ]; then args+=(--out-dir "$OUT_DIR"); fi
[ -n "${SHARD:-}" ] && args+=(--shard "$SHARD")
compared=false
if [ -n "${COMPARE_REF:-}" ]; then
  if plan_base; then
    compared=true
    args+=(--compare "$base_json" --fail-on "${FAIL_ON:-expected}")
    [ -n "${FAIL_ON_INCREASE:-}" ] && args+=(--fail-on-increase "$FAIL_ON_INCREASE")
  else
    echo "::notice::no plan of $PIPELINE at $COMPARE_REF (new, or invalid there): showing this plan alone"
  fi
fi

"$runner" "${args[@]}" >"$out" 2>"$err"
code=$?
# the log shows what the job summary shows, and why the runner exited as it did
cat "$out"
cat "$err" >&2

{
  if [ "$FORMAT" = json ]; then printf '```json\n'; cat "$out"; printf '```\n'; else cat "$out"; fi
  if [ -s "$err" ] && [ "$code" -ne 0 ]; then
    printf '\n**runner %s exited %s**\n\n```\n' "$COMMAND" "$code"
    cat "$err"
    printf '```\n'
  fi
} >>"$GITHUB_STEP_SUMMARY"

# file:line:col: message [rule]  →  ::error file=…,line=…,col=…::message [rule], the file named
# from the repository's root (the runner names it from the working directory)
while IFS= read -r line; do
  if [[ $line =~ ^([^:\ ]+):([0-9]+):([0-9]+):\ (.*)$ ]]; then
    file=${BASH_REMATCH[1]}
    case "$file" in "$workspace"/*) file=${file#"$workspace"/} ;; /*) ;; *) file="$prefix$file" ;; esac
    echo "::error file=$file,line=${BASH_REMATCH[2]},col=${BASH_REMATCH[3]}::${BASH_REMATCH[4]}"
  fi
done <"$err"

# this invocation's figures: the plan (plan, or a run its gates stopped) or the run summary
expected="" max="" change="" pct=""
if [ -s "$json" ]; then
  read -r expected max change pct < <(node -e '
    const p = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))
    const c = p.diff?.change?.expected
    const show = (v) => (v === undefined || v === null ? "-" : String(v))
    console.log(p.cost_usd.expected, p.cost_usd.max, show(c?.usd), show(c?.pct))' "$json")
  [ "$change" = - ] && change=""
  [ "$pct" = - ] && pct=""
fi
# a run's HTML report, beside its records (an artifact a person opens offline)
report=""
if [ -s "$json" ] && [ "$COMMAND" != plan ]; then
  dir=$(node -e 'const p = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(p.run?.dir ?? "")' "$json")
  if [ -n "$dir" ] && "$runner" report "$dir" >/dev/null 2>>"$err"; then report="$dir/report.html"; fi
fi
{
  echo "report=$report"
  echo "cost-expected=$expected"
  echo "cost-max=$max"
  echo "cost-change=$change"
  echo "cost-change-pct=$pct"
  echo "exit-code=$code"
} >>"$GITHUB_OUTPUT"

# one comment per pull request and pipeline, found by its first line and edited on each push
post_comment() {
  local pr marker id body="$RUNNER_TEMP/tollgate-comment.md"
  pr=$(node -e 'try { const e = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(e.pull_request?.number ?? "") } catch { console.log("") }' "${GITHUB_EVENT_PATH:-/nonexistent}")
  if [ -z "$pr" ]; then echo "::notice::comment: not a pull request, nothing posted"; return 0; fi
  # the markdown diff, cut before the folded plan
  sed '/^<details><summary>the plan<\/summary>/,$d' "$out" >"$body"
  marker=$(head -n 1 "$body")
  id=$(gh api --paginate "repos/$GITHUB_REPOSITORY/issues/$pr/comments" --jq '.[] | [.id, (.body | split("\n") | .[0])] | @tsv' |
    awk -F '\t' -v m="$marker" '$2 == m { print $1; exit }') || return 1
  if [ -n "$id" ]; then
    gh api --silent -X PATCH "repos/$GITHUB_REPOSITORY/issues/comments/$id" -F "body=@$body"
  else
    gh api --silent -X POST "repos/$GITHUB_REPOSITORY/issues/$pr/comments" -F "body=@$body"
  fi
}
if [ "$compared" = true ] && [ "${COMMENT:-false}" = true ] && [ "$FORMAT" = markdown ]; then
  post_comment || echo "::warning::could not post the cost comment (a pull request from a fork gets a read-only token): the diff is in the job summary"
fi
exit "$code"
