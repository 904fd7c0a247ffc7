#!/usr/bin/env bash
# Render the conversation report in headless Chromium (Debian's `chromium` package) and save a
# screenshot to look at. With no conversations yet, it replays the labelled messages first.
#
#   scripts/report-screenshot.sh [OUT_DIR]          (default: ./report-check)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-report-check}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
if [ -z "${DATABASE_URL:-}" ] && [ -z "${BOT_DATA_DIR:-}" ]; then
  export BOT_DATA_DIR="$out/data"
  .venv/bin/python scripts/replay_conversations.py tests/data/dev.yaml tests/data/heldout.yaml
fi
.venv/bin/neogenesis-bot report --since 30d --html "$out/report.html" > "$out/report.txt"
browser="$(command -v chromium || command -v chromium-browser || true)"
[ -n "$browser" ] || { echo "Chromium is not installed: sudo apt-get install chromium" >&2; exit 1; }
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --user-data-dir="$out/chromium-profile" --hide-scrollbars)
"$browser" "${flags[@]}" --window-size=1100,2200 --screenshot="$out/report.png" "file://$out/report.html" 2>/dev/null
echo "report: $out/report.html  screenshot: $out/report.png"
