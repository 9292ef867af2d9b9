#!/bin/sh
# Install Gemma Desk for this user: the app under ~/.local/lib, the command in ~/.local/bin, the menu entry and
# icons under ~/.local/share. Run it from the unpacked folder; run it again to update; --uninstall removes it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
lib="$HOME/.local/lib/gemma-desk"
bin="$HOME/.local/bin"
share="${XDG_DATA_HOME:-$HOME/.local/share}"
if [ "${1:-}" = "--uninstall" ]; then
  rm -rf "$lib" "$bin/gemma-desk" "$share/applications/gemma-desk.desktop" "$share/mime/packages/gemma-desk.xml"
  command -v update-mime-database >/dev/null 2>&1 && update-mime-database "$share/mime" || true
  command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$share/applications" || true
  find "$share/icons/hicolor" -name 'gemma-desk.*' -delete 2>/dev/null || true
  echo "Gemma Desk was removed (your chats and models in ~/.local/share/Gemma Desk are kept)."
  exit 0
fi
mkdir -p "$lib" "$bin" "$share"
rm -rf "$lib" && cp -a "$here/app" "$lib"
ln -sf "$lib/gemma-desk" "$bin/gemma-desk"
cp -a "$here/share/." "$share/"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$share/applications" || true
command -v update-mime-database >/dev/null 2>&1 && update-mime-database "$share/mime" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q "$share/icons/hicolor" || true
if ! ldconfig -p 2>/dev/null | grep -q libportaudio; then
  echo "Note: install PortAudio for the microphone (Debian/Ubuntu: sudo apt install libportaudio2)."
fi
echo "Gemma Desk is installed: find it in your applications menu, or run gemma-desk."
