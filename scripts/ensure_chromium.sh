#!/usr/bin/env bash
# The browser tests drive Debian's Chromium at CHROMIUM (default /usr/bin/chromium).
# Install it when missing and we may (root with apt-get); otherwise stop at once and name the
# one command to run. Never `playwright install`: its downloads cannot work here.
set -euo pipefail
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
INSTALL="apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium"

if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Chromium is missing at $CHROMIUM: installing Debian's package." >&2
  bash -c "$INSTALL"
  if [ -x "$CHROMIUM" ]; then exit 0; fi
  echo "apt-get finished but $CHROMIUM is still missing." >&2
  exit 1
fi
echo "Chromium is missing at $CHROMIUM. Run as root: $INSTALL" >&2
exit 1
