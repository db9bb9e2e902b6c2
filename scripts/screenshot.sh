#!/usr/bin/env bash
# Starts the real window under Xvfb on the demo mailbox (in-process POP3S and
# SMTPS servers, nothing leaves the machine) and writes screenshots of the
# inbox, the reader and the composer:
#   scripts/screenshot.sh [OUT_DIR] [--release]
# Needs: xvfb, xdotool, imagemagick (import), fonts-noto-cjk.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-assets/screenshots}
if [[ "${2:-}" == "--release" ]]; then cargo build --release --locked; bin=target/release/herald
else cargo build --locked; bin=target/debug/herald; fi
mkdir -p "$out"

display=:$((90 + RANDOM % 9))
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
trap 'kill "${app_pid:-}" "$xvfb_pid" 2>/dev/null || true' EXIT
sleep 1
export DISPLAY=$display WAYLAND_DISPLAY=
"$bin" demo 2>/dev/null &
app_pid=$!
wait_secs=${HERALD_SCREENSHOT_WAIT:-5}
sleep "$wait_secs"
window=$(xdotool search --sync --name '^Herald$' | head -1)
xdotool windowsize "$window" 1280 800 windowmove "$window" 0 0
sleep 1
import -window root "$out/inbox.png"
# The newest message (the welcome letter with its inline images) in the reader.
xdotool mousemove 500 300 windowfocus --sync "$window" key Home
sleep 2
import -window root "$out/reader.png"
# A new message in the composer.
xdotool windowfocus --sync "$window" key ctrl+n
sleep 2
import -window root "$out/composer.png"
echo "wrote $out/inbox.png $out/reader.png $out/composer.png"
