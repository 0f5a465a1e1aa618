#!/usr/bin/env bash
# Call a voicegw gateway from baresip, a real softphone, with no sound card: what baresip says
# comes from a WAV file (the aufile module), what it hears is written to a WAV file (the
# sndfile module records the decoded far-end audio; aubridge stands in for a speaker).
#
#   deploy/baresip/call-gateway.sh [-t SECONDS] [-o HEARD.wav] [-i SAY.wav | -s TEXT] \
#                                  [-d LEAD_MS] URI
#
#   URI         whom to call, e.g. sip:100@127.0.0.1:5060
#   -t SECONDS  hang up after this long (default 10)
#   -o WAV      where to write what baresip heard (default ./heard.wav; 8 kHz mono)
#   -i WAV      what baresip says (any WAV sox reads; made 8 kHz mono 16-bit for aufile); or
#   -s TEXT     say TEXT with espeak-ng (converted with sox)
#   -d LEAD_MS  silence before the line, so the agent's greeting is heard first (default 2500)
#
# Without -i/-s baresip stays silent. The line is padded with silence to the length of the
# call: aufile ends the call when its file runs out. Everything else lives in a throwaway
# config directory that is removed at exit. baresip's own log is printed on stderr. Exit
# status: 0 if the call was established, 1 if not, 2 for bad usage.
#
# Needs Debian's baresip-core (modules account, menu, g711, aufile, aubridge, sndfile) and
# sox; -s needs espeak-ng. Tested with baresip 1.0.0.
set -euo pipefail

seconds=10
heard=./heard.wav
say_wav=""
say_text=""
lead_ms=2500
usage() { sed -n '6,19p' "$0" | cut -c3- >&2; exit 2; }
while getopts "t:o:i:s:d:h" opt; do
  case "$opt" in
    t) seconds=$OPTARG ;;
    o) heard=$OPTARG ;;
    i) say_wav=$OPTARG ;;
    s) say_text=$OPTARG ;;
    d) lead_ms=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
uri=$1

modules=/usr/lib/baresip/modules
for tool in baresip sox; do
  command -v "$tool" >/dev/null || { echo "call-gateway: $tool is not installed" >&2; exit 2; }
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/voicegw-baresip.XXXXXX")
trap 'rm -rf "$dir"' EXIT
trap 'exit 143' INT TERM  # still removes the directory
mkdir "$dir/dumps"

# The line baresip says: 8 kHz mono 16-bit, lead silence first, padded to the whole call.
line="$dir/line.wav"
if [ -n "$say_text" ]; then
  command -v espeak-ng >/dev/null || { echo "call-gateway: -s needs espeak-ng" >&2; exit 2; }
  espeak-ng -w "$dir/spoken.wav" "$say_text"
  say_wav="$dir/spoken.wav"
fi
lead=$(awk "BEGIN { print $lead_ms / 1000 }")
if [ -n "$say_wav" ]; then
  sox "$say_wav" -r 8000 -c 1 -b 16 "$line" pad "$lead" "$seconds"
else
  sox -n -r 8000 -c 1 -b 16 "$line" trim 0 "$((seconds + 2))"
fi

cat >"$dir/config" <<EOF
poll_method		epoll
sip_listen		127.0.0.1:0
audio_source		aufile,$line
audio_player		aubridge,voicegw
audio_alert		aubridge,voicegw-alert
module_path		$modules
module			g711.so
module			aufile.so
module			aubridge.so
module			sndfile.so
module_app		account.so
module_app		menu.so
snd_path		$dir/dumps
EOF
# One local account, no registration; G.711 only.
echo "<sip:baresip@127.0.0.1>;regint=0;audio_codecs=PCMU,PCMA" >"$dir/accounts"

# -e types the dial command into the menu module, -t quits (hanging up with BYE) after SECONDS.
baresip -f "$dir" -e "/dial $uri" -t "$seconds" </dev/null >"$dir/baresip.log" 2>&1 || true
tr '\r' '\n' <"$dir/baresip.log" | grep -v -e '^/' -e 'audio=' -e '^[[:space:]]*$' >&2 || true

# sndfile writes dump-<time>-dec.wav (decoded: what we heard) and -enc.wav (what we sent).
decoded=$(find "$dir/dumps" -name '*-dec.wav' | head -n 1)
if [ -n "$decoded" ]; then
  cp "$decoded" "$heard"
  echo "call-gateway: what baresip heard is in $heard" >&2
fi
grep -q "Call established" "$dir/baresip.log"
