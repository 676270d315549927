#!/usr/bin/env bash
# One-folder build of DeepWire with PyInstaller -> dist/deepwire/ (run from anywhere).
# Installs PyInstaller into .venv when missing, reports build time and bundle size, then starts the
# built app offscreen with --self-test and checks the CLI inside the bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}

"$PY" -c "import PyInstaller" 2>/dev/null || "$PY" -m pip install -q "pyinstaller>=6.10"

start=$(date +%s)
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
    --workpath build/pyinstaller --distpath dist packaging/deepwire.spec
elapsed=$(( $(date +%s) - start ))

app=dist/deepwire/deepwire
echo "build time: ${elapsed} s"
echo "bundle size: $(du -sh dist/deepwire | cut -f1) ($(find dist/deepwire -type f | wc -l) files)"
echo "largest parts:"
du -sh dist/deepwire/_internal/* | sort -rh | head -8 | sed 's/^/  /'

# Run from a scratch folder so nothing is found through the source tree's working directory.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
app=$(realpath "$app")
(
  cd "$scratch"
  export QT_QPA_PLATFORM=offscreen DEEPWIRE_DATA_DIR="$scratch/data" XDG_CONFIG_HOME="$scratch/config"
  "$app" --self-test && echo "self-test: ok (editor window built and closed, exit 0)"
  "$app" validate lenet >/dev/null && echo "cli: validate lenet ok"
  if "$app" --help | grep -q " train "; then
    "$app" train lenet --epochs 1 --run-dir "$scratch/run" >/dev/null && echo "cli: train lenet --epochs 1 ok"
  else
    echo "cli: 'deepwire train' is not registered yet; skipped"
  fi
)
