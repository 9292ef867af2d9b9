#!/usr/bin/env bash
# Build the Linux bundle: a PyInstaller folder plus the desktop entry and icons, packed as a .tar.gz that
# installs per user (install.sh) — and checked: the frozen app must pass --self-check and answer a prompt
# in its own window with the tiny test model.
#
#   bash packaging/build-linux.sh            # CPU build (this machine); --no-archive: skip the .tar.gz
#   CMAKE_ARGS="-DGGML_CUDA=on" bash packaging/build-linux.sh --rebuild-llama   # CUDA (needs nvcc)
#
# Output: build/dist/gemma-desk/ (the app), build/gemma-desk-<version>-linux-x86_64-<variant>.tar.gz
# (VARIANT names the build: cpu by default, cuda, vulkan).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.local/bin:$PATH"

archive=1
for arg in "$@"; do
  case "$arg" in
    --rebuild-llama) uv sync --reinstall-package llama-cpp-python ;;  # with CMAKE_ARGS from the environment
    --no-archive) archive=0 ;;  # just the folder (CI: the tests run the frozen app)
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done
version=$(uv run python -c "import app; print(app.__version__)")
uv run pyinstaller --noconfirm --clean --log-level WARN --distpath build/dist --workpath build/work \
  packaging/gemma-desk.spec

bundle=build/dist/gemma-desk
stage=build/stage/gemma-desk-$version
rm -rf build/stage && mkdir -p "$stage/share/applications"
cp -a "$bundle" "$stage/app"
cp packaging/linux/gemma-desk.desktop "$stage/share/applications/"
mkdir -p "$stage/share/mime/packages"
cp packaging/linux/io.gemmadesk.GemmaDesk.mime.xml "$stage/share/mime/packages/gemma-desk.xml"  # the .gguf type
for size in 16 24 32 48 64 128 256 512; do
  mkdir -p "$stage/share/icons/hicolor/${size}x${size}/apps"
  cp "resources/icons/gemma-desk-$size.png" "$stage/share/icons/hicolor/${size}x${size}/apps/gemma-desk.png"
done
mkdir -p "$stage/share/icons/hicolor/scalable/apps"
cp resources/icons/gemma-desk.svg "$stage/share/icons/hicolor/scalable/apps/gemma-desk.svg"
cp packaging/linux/install.sh "$stage/install.sh"
if [ "$archive" = 1 ]; then
  tar -C build/stage -czf "build/gemma-desk-$version-linux-x86_64-${VARIANT:-cpu}.tar.gz" "gemma-desk-$version"
fi

# The frozen app checks itself: facts, then its window with the tiny model answering one prompt.
model=$(uv run python -c "from tests.conftest import build_tiny_model; print(build_tiny_model())")
# A hung check fails the build in 4 minutes instead of holding it (timeout signals the whole process group,
# WebEngine helpers included); after 2 minutes it prints every thread's Python stack (app/cli/self_check.py).
QT_QPA_PLATFORM=offscreen GEMMA_DESK_HOME="$(mktemp -d)" timeout -k 10 240 "$bundle/gemma-desk" --self-check --check-model "$model"
du -sh "$bundle" build/gemma-desk-*-linux-x86_64-*.tar.gz 2>/dev/null || true
