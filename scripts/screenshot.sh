#!/usr/bin/env bash
# Starts the real window under Xvfb on the demo mailbox (in-process POP3S and
# SMTPS servers, nothing leaves the machine) and writes screenshots of the
# inbox, the reader and the composer (its own OS window, captured alone):
#   scripts/screenshot.sh [OUT_DIR] [--release]
# Then it closes the composer with its window's close button (the
# WM_DELETE_WINDOW message a window manager sends) and fails unless the
# window goes away once its draft is saved.
# Needs: xvfb, xdotool, imagemagick (import), fonts-noto-cjk, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-assets/screenshots}
if [[ "${2:-}" == "--release" ]]; then cargo build --release --locked; bin=${CARGO_TARGET_DIR:-target}/release/herald
else cargo build --locked; bin=${CARGO_TARGET_DIR:-target}/debug/herald; fi
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

# A new message: the composer opens in a window of its own. There is no
# window manager under Xvfb, so the script places and focuses it.
xdotool windowfocus --sync "$window" key ctrl+n
composer=$(xdotool search --sync --name '^New message$' | head -1)
xdotool windowmove "$composer" 300 60
sleep 1
xdotool windowfocus --sync "$composer"
# Fields by where they are in the window (To, Subject, the body).
# (A pause after each: the address completion closes a frame later.)
xdotool mousemove --window "$composer" 300 40 click 1
sleep 0.3
xdotool type --delay 15 'you@demo.herald.invalid, '
sleep 0.5
xdotool mousemove --window "$composer" 300 64 click 1
sleep 0.3
xdotool type --delay 15 'Lunch on Friday?'
# The window's title follows the subject.
xdotool search --sync --name '^Lunch on Friday\?$' >/dev/null
# Into the body, above the signature.
xdotool mousemove --window "$composer" 180 250 click 1
sleep 0.3
xdotool key ctrl+Home
xdotool type --delay 15 'Hi! Shall we try the **new noodle place** on Friday?'
xdotool key Return Return
xdotool type --delay 15 -- '- 12:30 at the door'
xdotool key Return
xdotool type --delay 15 -- '- I booked a table for *four*'
sleep 2
import -window "$composer" "$out/composer.png"

# The composer's close button: its draft is saved, then the window goes.
python3 - "$composer" <<'PY'
import ctypes, sys
x11 = ctypes.cdll.LoadLibrary("libX11.so.6")
x11.XOpenDisplay.restype = ctypes.c_void_p
x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
x11.XInternAtom.restype = ctypes.c_ulong
x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
class ClientMessage(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong),
                ("send_event", ctypes.c_int), ("display", ctypes.c_void_p),
                ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                ("format", ctypes.c_int), ("data", ctypes.c_long * 5)]
class XEvent(ctypes.Union):
    _fields_ = [("xclient", ClientMessage), ("pad", ctypes.c_long * 24)]
x11.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int,
                           ctypes.c_long, ctypes.POINTER(XEvent)]
x11.XFlush.argtypes = [ctypes.c_void_p]
x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
display = x11.XOpenDisplay(None)
event = XEvent()
event.xclient.type = 33  # ClientMessage
event.xclient.display = display
event.xclient.window = int(sys.argv[1])
event.xclient.message_type = x11.XInternAtom(display, b"WM_PROTOCOLS", 0)
event.xclient.format = 32
event.xclient.data[0] = x11.XInternAtom(display, b"WM_DELETE_WINDOW", 0)
x11.XSendEvent(display, event.xclient.window, 0, 0, ctypes.byref(event))
x11.XFlush(display)
x11.XCloseDisplay(display)
PY
for _ in $(seq 50); do
  xdotool search --name '^Lunch on Friday\?$' >/dev/null || break
  sleep 0.2
done
if xdotool search --name '^Lunch on Friday\?$' >/dev/null; then
  echo "the composer's window did not close" >&2
  exit 1
fi
echo "wrote $out/inbox.png $out/reader.png $out/composer.png; the composer closed"
