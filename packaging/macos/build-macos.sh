#!/usr/bin/env bash
# Build Gemma Desk.app for Apple Silicon with Metal, check it, sign it, notarise it and wrap it in a .dmg.
#
#   bash packaging/macos/build-macos.sh                     # unsigned (local testing)
#   SIGN_ID="Developer ID Application: Your Name (TEAMID)" NOTARY_PROFILE=gemma-desk \
#     bash packaging/macos/build-macos.sh                   # signed + notarised, ready to ship
#
# Needs: Xcode command-line tools, uv. Signing needs a "Developer ID Application" certificate in the keychain;
# notarising needs a stored notarytool profile, made once with:
#   xcrun notarytool store-credentials gemma-desk --apple-id you@example.com --team-id TEAMID
set -euo pipefail
cd "$(dirname "$0")/../.."

CMAKE_ARGS="-DGGML_METAL=on -DGGML_NATIVE=off" uv sync --reinstall-package llama-cpp-python
version=$(uv run python -c "import app; print(app.__version__)")
uv run pyinstaller --noconfirm --clean --distpath build/dist --workpath build/work packaging/gemma-desk.spec
app="build/dist/Gemma Desk.app"

# The usage strings must be there, or macOS ends the app the first time it opens the microphone or camera.
/usr/libexec/PlistBuddy -c "Print :NSMicrophoneUsageDescription" "$app/Contents/Info.plist" >/dev/null
/usr/libexec/PlistBuddy -c "Print :NSCameraUsageDescription" "$app/Contents/Info.plist" >/dev/null
# The document types, or the Finder never offers "Open With > Gemma Desk" (packaging/macos/document-types.plist).
/usr/libexec/PlistBuddy -c "Print :CFBundleDocumentTypes:0:LSItemContentTypes" "$app/Contents/Info.plist" >/dev/null

model=$(uv run python -c "from tests.conftest import build_tiny_model; print(build_tiny_model())")
QT_QPA_PLATFORM=offscreen "$app/Contents/MacOS/gemma-desk" --self-check --check-model "$model"

if [ -n "${SIGN_ID:-}" ]; then
  # Sign every nested binary first (Qt WebEngine's helper app included), then the app, with the hardened runtime.
  find "$app/Contents" -type f \( -name "*.dylib" -o -name "*.so" -o -perm -u+x \) -print0 |
    xargs -0 codesign --force --timestamp --options runtime --entitlements packaging/macos/entitlements.plist \
      --sign "$SIGN_ID"
  codesign --force --timestamp --options runtime --entitlements packaging/macos/entitlements.plist \
    --sign "$SIGN_ID" "$app"
  codesign --verify --deep --strict --verbose=2 "$app"
fi

dmg="build/GemmaDesk-$version-macos-arm64.dmg"
rm -f "$dmg"
staging=$(mktemp -d)
cp -R "$app" "$staging/"
ln -s /Applications "$staging/Applications"
hdiutil create -volname "Gemma Desk" -srcfolder "$staging" -ov -format UDZO "$dmg"

if [ -n "${SIGN_ID:-}" ] && [ -n "${NOTARY_PROFILE:-}" ]; then
  codesign --timestamp --sign "$SIGN_ID" "$dmg"
  xcrun notarytool submit "$dmg" --keychain-profile "$NOTARY_PROFILE" --wait
  xcrun stapler staple "$dmg"
  spctl --assess --type open --context context:primary-signature --verbose "$dmg"
fi
echo "built $dmg"
