#!/usr/bin/env bash
# Install the one-folder build (dist/deepwire) for the current user: the app under ~/.local/opt,
# `deepwire` on PATH via ~/.local/bin, the .desktop entry and the icon set. Uninstall: install.sh --remove
set -euo pipefail
cd "$(dirname "$0")/../.."
prefix=${XDG_DATA_HOME:-$HOME/.local/share}
opt=$HOME/.local/opt/deepwire
bin=$HOME/.local/bin/deepwire

if [ "${1:-}" = "--remove" ]; then
  rm -rf "$opt" "$bin" "$prefix/applications/deepwire.desktop"
  rm -f "$prefix"/icons/hicolor/*/apps/deepwire.png "$prefix/icons/hicolor/scalable/apps/deepwire.svg"
  echo "DeepWire removed"
  exit 0
fi
[ -x dist/deepwire/deepwire ] || { echo "no build found: run packaging/build.sh first" >&2; exit 1; }
rm -rf "$opt" && mkdir -p "$(dirname "$opt")" "$(dirname "$bin")" "$prefix/applications"
cp -a dist/deepwire "$opt"
ln -sf "$opt/deepwire" "$bin"
# Desktop sessions often lack ~/.local/bin on PATH: point Exec at the installed executable.
sed "s|^Exec=deepwire |Exec=$opt/deepwire |" packaging/linux/deepwire.desktop > "$prefix/applications/deepwire.desktop"
for png in resources/icons/app/deepwire-*.png; do
  size=${png##*-}; size=${size%.png}
  install -D -m 644 "$png" "$prefix/icons/hicolor/${size}x${size}/apps/deepwire.png"
done
install -D -m 644 resources/icons/app/deepwire.svg "$prefix/icons/hicolor/scalable/apps/deepwire.svg"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$prefix/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$prefix/icons/hicolor" || true
echo "DeepWire installed: $bin (menu entry: DeepWire)"
