#!/usr/bin/env bash
# Starts the real window under Xvfb with a throwaway profile and writes a
# screenshot: scripts/screenshot.sh [OUT.png] [--release]
# Needs: xvfb, imagemagick (import), fonts-noto-cjk.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-assets/screenshots/accounts.png}
profile_flag=debug
[[ "${2:-}" == "--release" ]] && profile_flag=release
if [[ $profile_flag == release ]]; then cargo build --release --locked; bin=target/release/herald
else cargo build --locked; bin=target/debug/herald; fi

profile=$(mktemp -d)
trap 'kill "${app_pid:-}" "${xvfb_pid:-}" 2>/dev/null || true; rm -rf "$profile"' EXIT
"$bin" --profile "$profile" account add --name "Work" --email ann@example.org --display-name "Ann Example" \
    --smtp smtp.example.org --pop3 pop.example.org --password-command 'printf x' >/dev/null
"$bin" --profile "$profile" account add --name "家里 QQ" --email zhang.wei@qq.com \
    --smtp smtp.qq.com --pop3 pop.qq.com --delete-after-days 30 --password-command 'printf x' >/dev/null
"$bin" --profile "$profile" account add --name "Почта" --email ivan@mail.ru \
    --smtp smtp.mail.ru:465 --pop3 pop.mail.ru --password-command 'printf x' >/dev/null

display=:$((90 + RANDOM % 9))
Xvfb "$display" -screen 0 960x640x24 -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
sleep 1
DISPLAY=$display WAYLAND_DISPLAY= "$bin" --profile "$profile" &
app_pid=$!
sleep "${HERALD_SCREENSHOT_WAIT:-4}"
mkdir -p "$(dirname "$out")"
DISPLAY=$display import -window root "$out"
echo "wrote $out"
