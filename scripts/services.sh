#!/usr/bin/env bash
# What the test suite needs besides Node, from Debian's packages, installed when missing:
# redis-server (the shared-store tests start their own instance on a free loopback port),
# chromium (the HTML report tests open each report in it, headless) and tmux (the progress
# display is checked in a real terminal). Sourced by .ci/run, and run by the tests' global setup
# on a machine that lacks one.
if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
need=""
command -v redis-server >/dev/null 2>&1 || need="$need redis-server"
command -v chromium >/dev/null 2>&1 || need="$need chromium"
command -v tmux >/dev/null 2>&1 || need="$need tmux"
if [ -n "$need" ]; then
  echo "services: installing$need" >&2
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need >/dev/null 2>&1 \
    || { $SUDO apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need >/dev/null 2>&1; }
fi
command -v redis-server >/dev/null 2>&1 || { echo "services: redis-server is not available" >&2; return 1 2>/dev/null || exit 1; }
command -v chromium >/dev/null 2>&1 || { echo "services: chromium is not available" >&2; return 1 2>/dev/null || exit 1; }
command -v tmux >/dev/null 2>&1 || { echo "services: tmux is not available" >&2; return 1 2>/dev/null || exit 1; }
