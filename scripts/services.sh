#!/usr/bin/env bash
# What the test suite needs besides Node: Debian's redis-server (the shared-store tests start
# their own instance on a free loopback port). Sourced by .ci/run; installs it when missing.
if ! command -v redis-server >/dev/null 2>&1; then
  echo "services: installing redis-server" >&2
  if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get install -y -qq redis-server >/dev/null 2>&1 \
    || { $SUDO apt-get update -qq >/dev/null 2>&1 && $SUDO apt-get install -y -qq redis-server >/dev/null 2>&1; }
fi
command -v redis-server >/dev/null 2>&1 || { echo "services: redis-server is not available" >&2; return 1 2>/dev/null || exit 1; }
