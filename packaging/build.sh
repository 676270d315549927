#!/usr/bin/env bash
# One-folder build of DeepWire with PyInstaller -> dist/deepwire/ (run from anywhere).
# Installs PyInstaller into .venv when missing, reports build time and bundle size, then starts the
# built app offscreen with --self-test and checks the CLI inside the bundle. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}

"$PY" -c "import PyInstaller" 2>/dev/null || "$PY" -m pip install -q "pyinstaller>=6.10"

start=$(date +%s)
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
    --workpath build/pyinstaller --distpath dist packaging/deepwire.spec
elapsed=$(( $(date +%s) - start ))

echo "build time: ${elapsed} s"
echo "bundle size: $(du -sh dist/deepwire | cut -f1) ($(find dist/deepwire -type f | wc -l) files)"
echo "largest parts:"
du -sh dist/deepwire/_internal/* | sort -rh | head -8 | sed 's/^/  /'

# Run from a scratch folder with private settings, so nothing is found through the source tree.
app=$(realpath dist/deepwire/deepwire)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"
export QT_QPA_PLATFORM=offscreen DEEPWIRE_DATA_DIR="$scratch/data" XDG_CONFIG_HOME="$scratch/config"

check() {  # check NAME COMMAND...: run it, print ok with its time, or its output and fail
  local name=$1 t0=$SECONDS
  shift
  if "$@" >"$scratch/out.txt" 2>&1; then
    echo "$name: ok ($(( SECONDS - t0 )) s)"
  else
    cat "$scratch/out.txt"
    echo "$name: FAILED" >&2
    exit 1
  fi
}
check "self-test (editor window built offscreen, exit 0)" "$app" --self-test
check "deepwire validate lenet" "$app" validate lenet
commands=$("$app" --help)
if grep -q "train" <<<"$commands"; then
  check "deepwire train lenet --epochs 1" "$app" train lenet --epochs 1 --no-progress --run-dir "$scratch/runs"
else
  echo "deepwire train: not registered in engine.cli yet; skipped"
fi
