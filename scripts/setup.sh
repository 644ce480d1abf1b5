#!/usr/bin/env bash
# Idempotent setup: system packages (as root or via sudo), a .venv with Folio installed.
#   bash scripts/setup.sh         # runtime
#   bash scripts/setup.sh --dev   # + test and lint tools
#   bash scripts/setup.sh --gpu   # + the torch backend for CUDA (GPU machines; flags combine)
#   bash scripts/setup.sh --ray   # + the Ray executor
set -euo pipefail
cd "$(dirname "$0")/.."

DEV=0
extras=()
for flag in "$@"; do
  case "$flag" in
    --dev) DEV=1; extras+=(dev) ;;
    --gpu) extras+=(gpu) ;;
    --ray) extras+=(ray) ;;
    *) echo "setup: unknown flag $flag (known: --dev --gpu --ray)" >&2; exit 2 ;;
  esac
done


# Debian packages: tesseract (second OCR engine) and fonts (tests render text).
APT_PACKAGES=(tesseract-ocr tesseract-ocr-eng fonts-dejavu-core)
# Browser tests drive Debian's chromium with Playwright (never `playwright install`).
((DEV)) && APT_PACKAGES+=(chromium fonts-liberation)
# Service integration tests start their own Redis server on loopback; promtool (Debian's
# prometheus) checks the alert rules and dashboards in deploy/.
((DEV)) && APT_PACKAGES+=(redis-server prometheus)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  SUDO=""
  [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null && SUDO="sudo"
  if [[ $(id -u) -eq 0 || -n "$SUDO" ]]; then
    echo "setup: installing ${missing[*]}"
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: warning: cannot install ${missing[*]} (not root, no sudo); tesseract features are off"
  fi
fi

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
[[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv

extra=""
((${#extras[@]})) && extra="[$(IFS=,; echo "${extras[*]}")]"
stamp=".venv/.folio-installed$extra"
want=$(cat pyproject.toml | sha256sum | cut -c1-16)
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "setup: installing Python packages into .venv (first time takes a few minutes)"
  # (this machine's pip config lists local mirrors that may not exist; hide those warnings)
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  .venv/bin/python -m pip install -q -e ".$extra" 2> >(grep -v -e "is ignored" -e "^ *$" >&2)
  echo "$want" > "$stamp"
fi
.venv/bin/python -c "import cv2, onnxruntime, duckdb, rapidocr" || {
  echo "setup: the Python environment is broken; remove .venv and run again" >&2; exit 1; }
# Model files no installed package carries (SLANet table structure): fetched once, checksummed.
.venv/bin/python -m models.fetch || {
  echo "setup: could not fetch model files (see above)" >&2; exit 1; }
echo "setup: ok ($(du -sh .venv | cut -f1) in .venv)"
