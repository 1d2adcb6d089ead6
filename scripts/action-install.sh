#!/usr/bin/env bash
# The GitHub Action's install step (action.yml): puts a `runner` at
# $RUNNER_TEMP/tollgate/node_modules/.bin/runner. With PACKAGE empty (the default) it runs from
# the action's own checkout ($GITHUB_ACTION_PATH: `uses: owner/repo@ref` works with nothing
# published): the workspace's runtime dependencies are installed from its lockfile, and Node runs
# the TypeScript sources as they are. Otherwise PACKAGE is an npm spec or a tarball.
set -euo pipefail
bin="$RUNNER_TEMP/tollgate/node_modules/.bin"
mkdir -p "$bin"
if [ -z "${PACKAGE:-}" ]; then
  root="$GITHUB_ACTION_PATH"
  version=$(node -p 'require(process.argv[1]).packageManager.split("@")[1]' "$root/package.json")
  pnpm_cmd=(pnpm)
  if ! command -v pnpm >/dev/null || [ "$(pnpm --version)" != "$version" ]; then pnpm_cmd=(npx --yes "pnpm@$version"); fi
  (cd "$root" && "${pnpm_cmd[@]}" install --prod --frozen-lockfile --ignore-scripts --reporter=silent)
  printf '#!/bin/sh\nexec node "%s/packages/runner/bin/runner.js" "$@"\n' "$root" >"$bin/runner"
  chmod +x "$bin/runner"
else
  cd "$RUNNER_TEMP/tollgate"
  npm install --silent --no-audit --no-fund --no-save "$PACKAGE"
fi
"$bin/runner" --version
"$bin/runner" --help >/dev/null # the CLI and its dependencies load
