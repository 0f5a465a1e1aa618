#!/usr/bin/env bash
# voicegw load test: SIPp -> Kamailio front -> gateway workers -> offline emulator, measured.
#
# A thin wrapper around `voicegw loadtest` (see `voicegw loadtest --help`), run from a checkout
# with its .venv. Needs SIPp and Kamailio (make system-deps) and root or CAP_NET_RAW (SIPp plays
# RTP from a pcap through a raw socket). Examples:
#
#   deploy/sipp/load.sh                                  # 6 calls, 20 s (what `make test` runs)
#   deploy/sipp/load.sh --calls 100 --duration 60 --baseline
#   deploy/sipp/load.sh --calls 30 --duration 60 --call-s 15 --kill-worker-s 30
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
exec "${VOICEGW:-$here/.venv/bin/voicegw}" loadtest "$@"
