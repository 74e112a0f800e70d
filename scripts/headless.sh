#!/usr/bin/env bash
# Run a window program on a virtual screen (Xvfb) on a computer without one:
#   bash scripts/headless.sh COMMAND [ARGS...]
# Starts Xvfb on a free display, starts COMMAND there, and says on the terminal when its window
# is open and on which display. Ctrl+C, SIGTERM or SIGHUP stop COMMAND first (it closes the way
# it does on a desktop), then Xvfb; the temporary folder goes too. Exits with COMMAND's code.
set -uo pipefail

[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
command -v Xvfb >/dev/null || { echo "Xvfb is not installed (apt-get install xvfb)." >&2; exit 2; }

WORK=$(mktemp -d)
XVFB_PID=""
APP_PID=""
STOPPING=""

cleanup() {
  if [ -n "$APP_PID" ] && kill -0 "$APP_PID" 2>/dev/null; then
    kill -TERM "$APP_PID" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$APP_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$APP_PID" 2>/dev/null
  fi
  if [ -n "$XVFB_PID" ] && kill -0 "$XVFB_PID" 2>/dev/null; then
    kill -TERM "$XVFB_PID" 2>/dev/null
    wait "$XVFB_PID" 2>/dev/null
  fi
  rm -rf "$WORK"
}
stop() {
  STOPPING=1
  echo "Stopping MaxUpload and the virtual screen..."
  cleanup
}
trap stop INT TERM HUP
trap cleanup EXIT

# Xvfb picks a free display itself and writes its number to the pipe once it is ready.
mkfifo "$WORK/display"
# Xvfb and the app run in their own sessions: Ctrl+C reaches this script only, which stops the
# app first and the screen after it (never the screen under a running app).
setsid Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$WORK/display" \
  2>"$WORK/xvfb.log" &
XVFB_PID=$!
if ! read -r -t 30 NUMBER <"$WORK/display"; then
  echo "The virtual screen (Xvfb) did not start:" >&2
  cat "$WORK/xvfb.log" >&2
  exit 1
fi
export DISPLAY=":$NUMBER"
unset WAYLAND_DISPLAY

setsid "$@" &
APP_PID=$!

# Say when the window is really there (x11-utils' xwininfo lists the top-level windows).
announced=""
while kill -0 "$APP_PID" 2>/dev/null && [ -z "$STOPPING" ]; do
  if [ -z "$announced" ]; then
    if ! command -v xwininfo >/dev/null; then
      echo "MaxUpload is starting on the virtual screen $DISPLAY (Xvfb). Stop it with Ctrl+C."
      announced=1
    elif xwininfo -root -tree 2>/dev/null | grep -q '"MaxUpload'; then
      echo "MaxUpload's window is open on the virtual screen $DISPLAY (Xvfb)."
      echo "See it with a VNC server on that display (e.g. x11vnc -display $DISPLAY); stop with Ctrl+C."
      announced=1
    fi
  fi
  sleep 0.2 & wait $! 2>/dev/null
done
wait "$APP_PID" 2>/dev/null
CODE=$?
APP_PID=""
[ -n "$STOPPING" ] && CODE=0
exit "$CODE"
