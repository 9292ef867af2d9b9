"""Render the app icon (resources/icons/gemma-desk.svg) to the PNG sizes, .ico and .icns the installers use.

    uv run python packaging/render_icons.py

Qt's SVG renderer draws each size; Pillow writes the Windows .ico and the macOS .icns. The outputs are
committed, so a build does not need to run this.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)


def render(size: int) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(ICONS / "gemma-desk.svg"))
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data.data())


def main() -> int:
    from PIL import Image
    from PySide6.QtGui import QGuiApplication

    _app = QGuiApplication(sys.argv[:1])
    pngs = {size: render(size) for size in SIZES}
    for size, data in pngs.items():
        (ICONS / f"gemma-desk-{size}.png").write_bytes(data)
    big = Image.open(io.BytesIO(pngs[1024]))
    big.save(ICONS / "gemma-desk.ico", sizes=[(s, s) for s in (16, 24, 32, 48, 64, 128, 256)])
    big.save(ICONS / "gemma-desk.icns")
    print(f"wrote {len(pngs)} PNGs, gemma-desk.ico and gemma-desk.icns in {ICONS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
