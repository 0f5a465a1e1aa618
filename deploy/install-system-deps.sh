#!/usr/bin/env bash
# Install the Debian packages voicegw's tests and demo use (SIPp, Kamailio, espeak-ng, sox,
# baresip, and systemd for `systemd-analyze verify` of deploy/systemd). As root with apt-get
# this installs what is missing; otherwise it says what to install.
# With REQUIRE_SYSTEM_TOOLS=1 a missing package is an error.
set -euo pipefail

PACKAGES=(sip-tester kamailio espeak-ng sox baresip-core systemd)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi

echo "voicegw: these Debian packages are missing: ${missing[*]}" >&2
echo "  install them with: sudo apt-get install ${missing[*]}" >&2
echo "  (tests that need them are skipped until then)" >&2
if [ "${REQUIRE_SYSTEM_TOOLS:-0}" = 1 ]; then
  exit 1
fi
