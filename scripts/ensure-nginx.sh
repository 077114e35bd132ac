#!/usr/bin/env bash
# Make sure Debian's nginx is installed for `make cluster` and its tests: /usr/sbin/nginx, or
# (as root) apt-get install it. nginx-light has every module the cluster uses (proxy,
# upstream with ip_hash and least_conn, map); plain `nginx` where nginx-light is gone (Debian 13).
set -euo pipefail

NGINX=${NGINX:-/usr/sbin/nginx}
if [ -x "$NGINX" ] || command -v nginx >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "nginx is not installed and installing it needs root: run" >&2
  echo "  sudo apt-get install -y nginx-light   (or nginx)" >&2
  echo "then run this again (or set NGINX=/path/to/nginx)." >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "nginx is not installed and this is not a Debian-like system: install nginx" >&2
  echo "with your package manager, or set NGINX=/path/to/nginx." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
if apt-cache show nginx-light >/dev/null 2>&1; then
  apt-get install -y -q --no-install-recommends nginx-light
else
  apt-get install -y -q --no-install-recommends nginx
fi
