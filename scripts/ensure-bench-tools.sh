#!/usr/bin/env bash
# Make sure the tools `make bench` drives are installed: wrk (the pages benchmark), or (as
# root, on a Debian-like system) apt-get install it. Without it the pages benchmark is
# reported as not run and the others still run, so a missing wrk only warns.
set -euo pipefail

if command -v wrk >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "wrk is not installed (the pages benchmark needs it): install it, e.g." >&2
  echo "  sudo apt-get install -y wrk   or   brew install wrk" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# the package lists may be stale or absent (a fresh container): update once if needed
apt-get install -y -q --no-install-recommends wrk >/dev/null 2>&1 \
  || { apt-get update -q && apt-get install -y -q --no-install-recommends wrk; } \
  || echo "could not install wrk: the pages benchmark will be reported as not run" >&2
