"""Screenshot → HTML: code artifacts, the preview pane beside the screenshot, and every sandbox rule.

The pages render in the real Qt WebEngine (offscreen). The network rule is checked against a real HTTP
server on 127.0.0.1 that counts the requests it gets; the file rule against a real file on disk.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWebEngineCore import QWebEngineScript
from pytestqt.qtbot import QtBot

from app.render.artifacts import find_page, is_previewable
from app.render.markdown import render_markdown
from app.settings import Settings
from app.store import Store
from app.store.store import default_path
from app.ui import confirm
from app.ui.composer.screenshot_action import PROMPT
from app.ui.preview.pane import UPDATE_INTERVAL_MS, PreviewPane, _FitImage
from app.ui.preview.sandbox_network import harden_webengine
from app.ui.shell.main_window import MainWindow
from tests.models.http_fixture import FileServer
from tests.ui.conftest import Launch

pytestmark = pytest.mark.gui

PAGE = """<!DOCTYPE html>
<html><head><style>body{font-family:sans-serif} .hero{background:#1a73e8;color:white;padding:40px}</style></head>
<body><header class="hero"><h1>Acme Rockets</h1></header>
<main><p id="lead">Fast, safe, reusable.</p></main></body></html>"""
ANSWER = (
    f"Here is the page:\n\n```html\n{PAGE}\n```\n\n"
    "And a logo:\n\n```svg\n<svg width='10' height='10'></svg>\n```\n\n```css\nbody {}\n```\n"
)


def run_js(qtbot: QtBot, pane: PreviewPane, code: str) -> Any:
    """Evaluate in an isolated world (works with the page's own scripts off; sees the same DOM)."""
    results: list[Any] = []
    pane.page.runJavaScript(code, QWebEngineScript.ScriptWorldId.ApplicationWorld, results.append)
    qtbot.waitUntil(lambda: bool(results), timeout=5_000)
    return results[0]


def text_of(qtbot: QtBot, pane: PreviewPane) -> str:
    results: list[str] = []
    pane.page.toPlainText(results.append)
    qtbot.waitUntil(lambda: bool(results), timeout=10_000)
    return results[0]


def wait_for_text(qtbot: QtBot, pane: PreviewPane, wanted: Callable[[str], bool], timeout: int = 10_000) -> None:
    """Wait until the page's text is ``wanted``: ask the renderer, and ask again once it has answered, or after
    a second without an answer (a request made while the page navigates is dropped). No wait nested in a wait,
    whose shorter timeout would end the test while the page is still rendering."""
    replies: list[str] = []
    asked_at = [0.0]

    def ask() -> None:
        asked_at[0] = time.monotonic()
        pane.page.toPlainText(replies.append)

    def done() -> bool:
        if replies and wanted(replies[-1]):
            return True
        if replies or time.monotonic() - asked_at[0] > 1.0:
            replies.clear()
            ask()
        return False

    ask()
    qtbot.waitUntil(done, timeout=timeout)


@pytest.fixture
def pane(qtbot: QtBot) -> Iterator[PreviewPane]:
    widget = PreviewPane()
    qtbot.addWidget(widget)
    widget.resize(900, 600)
    widget.show()
    yield widget
    widget.close()


def render(qtbot: QtBot, pane: PreviewPane, html: str) -> None:
    with qtbot.waitSignal(pane.rendered, timeout=10_000):
        pane.show_html(html)
    qtbot.wait(150)  # subresources settle


# -- artifacts ------------------------------------------------------------------------------------------


def test_html_and_svg_blocks_get_preview_links_and_a_whole_page_is_found() -> None:
    html, blocks = render_markdown(ANSWER)
    assert "gd-code:preview:0" in html and "gd-code:preview:1" in html and "gd-code:preview:2" not in html
    assert [b.suggested_filename for b in blocks] == ["index.html", "snippet.svg", "snippet.css"]
    assert find_page(ANSWER, blocks) == (0, PAGE + "\n")
    assert is_previewable("xml", "<svg/>") and not is_previewable("python", "<html>")
    raw = "Sure!\n<!DOCTYPE html><html><body>Hi</body></html>\nEnjoy."
    assert find_page(raw, render_markdown(raw)[1]) == (-1, "<!DOCTYPE html><html><body>Hi</body></html>")


# -- the sandbox -------------------------------------------------------------------------------------------


def test_a_page_cannot_read_local_files(qtbot: QtBot, pane: PreviewPane, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    picture = tmp_path / "photo.png"
    Image.new("RGB", (40, 30), "red").save(picture)
    url = QUrl.fromLocalFile(str(secret)).toString()
    image_url = QUrl.fromLocalFile(str(picture)).toString()
    page = (
        f'<html><body><p>page</p><img id="pic" src="{image_url}"><iframe id="f" src="{url}"></iframe>'
        f'<object data="{url}"></object><link rel="stylesheet" href="{url}"></body></html>'
    )
    render(qtbot, pane, page)
    assert run_js(qtbot, pane, "document.getElementById('pic').naturalWidth") == 0
    frame_text = run_js(
        qtbot,
        pane,
        "(() => { try { return document.getElementById('f').contentDocument.body.innerText }"
        " catch (e) { return 'denied' } })()",
    )
    assert "TOP SECRET" not in str(frame_text) and "TOP SECRET" not in text_of(qtbot, pane)
    pane.scripts.setChecked(True)  # even with scripts on, fetch/XHR of a file fails
    show = "t => document.getElementById('r').textContent = t"
    script = f"fetch('{url}').then(r => r.text()).then({show}).catch(() => ({show})('blocked'))"
    render(qtbot, pane, f"<html><body><p id='r'>?</p><script>{script}</script></body></html>")
    wait_for_text(qtbot, pane, lambda text: text.strip() != "?", timeout=5_000)
    assert text_of(qtbot, pane).strip() == "blocked"


def test_a_page_cannot_reach_the_network_not_even_127_0_0_1(
    qtbot: QtBot, pane: PreviewPane, server: FileServer, answer: Callable[[confirm.Answer], None]
) -> None:
    server.files = {"logo.png": _png_bytes(), "app.js": b"document.title = 'ran'", "style.css": b"body{color:red}"}
    calls = (
        f'<img src="{server.url("logo.png")}"><link rel="stylesheet" href="{server.url("style.css")}">'
        f'<script src="{server.url("app.js")}"></script><iframe src="{server.url("logo.png")}"></iframe>'
        f'<video src="{server.url("logo.png")}"></video>'
    )
    render(qtbot, pane, f"<html><body>{calls}</body></html>")
    pane.scripts.setChecked(True)
    render(qtbot, pane, f"<html><body>{calls}<script>fetch('{server.url('logo.png')}').catch(() => 0);"
           f"new WebSocket('ws://127.0.0.1:{server.port}/');"
           f"navigator.sendBeacon('{server.url('beacon')}', 'x');</script></body></html>")  # fmt: skip
    qtbot.wait(500)
    assert server.seen == []  # the server counted no request at all
    gate = harden_webengine()  # where Chromium's every connection goes (see test_preview_network.py)
    assert f"127.0.0.1:{server.port}" not in gate.passed
    assert len(pane.page.guard.blocked) >= 5 and "blocked" in pane.status.text()
    assert pane.page.title() != "ran"

    answer(lambda _title, _text: True)
    pane.remote.setChecked(True)  # the user agreed: remote images, fonts and styles only
    qtbot.waitUntil(lambda: any("logo.png" in s.target for s in server.seen), timeout=10_000)
    qtbot.wait(300)
    targets = {s.target.rsplit("/", 1)[-1] for s in server.seen}
    assert {"logo.png", "style.css"} <= targets and "app.js" not in targets and "beacon" not in targets
    assert f"127.0.0.1:{server.port}" in gate.passed  # through the gate, which the guard opened for this host


def test_a_declined_warning_keeps_the_network_off(
    qtbot: QtBot, pane: PreviewPane, server: FileServer, answer: Callable[[confirm.Answer], None]
) -> None:
    server.files = {"logo.png": _png_bytes()}
    render(qtbot, pane, f'<img src="{server.url("logo.png")}">')
    answer(lambda _title, _text: False)
    pane.remote.setChecked(True)
    assert not pane.remote.isChecked() and not pane.page.guard.allow_remote
    qtbot.wait(300)
    assert server.seen == []


def test_scripts_are_off_until_switched_on(qtbot: QtBot, pane: PreviewPane) -> None:
    page = "<html><body><p id='p'>written by HTML</p><script>document.getElementById('p').textContent = 'changed by a script'</script></body></html>"  # noqa: E501
    render(qtbot, pane, page)
    assert text_of(qtbot, pane).strip() == "written by HTML"
    assert "scripts off" in pane.status.text()
    with qtbot.waitSignal(pane.rendered, timeout=10_000):
        pane.scripts.setChecked(True)  # reloads the page with scripts
    wait_for_text(qtbot, pane, lambda text: text.strip() == "changed by a script", timeout=5_000)
    assert "scripts on" in pane.status.text()


def test_no_new_windows_downloads_navigation_or_permissions(qtbot: QtBot, pane: PreviewPane) -> None:
    pane.scripts.setChecked(True)
    page = """<html><body><a id="away" href="https://example.com/">away</a>
    <a id="dl" href="data:text/plain,hello" download="x.txt">file</a>
    <script>
      const opened = window.open('https://example.com/', '_blank');
      document.title = opened === null ? 'no window' : 'window!';
      navigator.mediaDevices && navigator.mediaDevices.getUserMedia({video: true}).catch(() => 0);
      setTimeout(() => document.getElementById('dl').click(), 50);
      setTimeout(() => document.getElementById('away').click(), 150);
      setTimeout(() => { location.href = 'https://example.org/'; }, 250);
    </script></body></html>"""
    render(qtbot, pane, page)
    qtbot.waitUntil(lambda: pane.page.navigations_refused >= 2, timeout=5_000)
    qtbot.waitUntil(lambda: pane.page.downloads_refused == 1, timeout=5_000)
    assert pane.page.title() == "no window"
    assert pane.page.url().scheme() == "data"  # still on the page
    assert "away" in text_of(qtbot, pane)


def test_a_page_too_large_is_refused_with_a_message(qtbot: QtBot, pane: PreviewPane) -> None:
    pane.show_html("<p>" + "x" * (3 * 1024 * 1024) + "</p>")
    assert "previews take pages up to 2 MB" in pane.status.text() and pane.loads == 0


def _png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(buffer, "PNG")
    return buffer.getvalue()


# -- in the window -----------------------------------------------------------------------------------------


Factory = Callable[[], MainWindow]


@pytest.fixture
def window(qtbot: QtBot, launch: Launch, tmp_path: Path) -> MainWindow:
    screenshot = tmp_path / "landing.png"
    Image.new("RGB", (320, 200), (26, 115, 232)).save(screenshot)
    with Store.open(default_path()) as store:
        chat = store.create_conversation("Landing page")
        ref = store.store_attachment_file(screenshot, "landing.png", "image", "image/png")
        user = store.add_message(chat.id, parent_id=None, role="user", content="Make this page", attachments=(ref,))
        store.add_message(chat.id, parent_id=user.id, role="assistant", content=ANSWER)
    win = launch()
    win.resize(1300, 800)
    qtbot.waitUntil(lambda: len(win.chat.messages) == 2, timeout=10_000)
    qtbot.wait(300)  # the start-up refresh may open the chat a second time: let it settle
    qtbot.waitUntil(lambda: len(win.chat.messages) == 2, timeout=10_000)
    return win


def test_preview_opens_beside_the_screenshot_and_code_can_be_copied_and_saved(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = window.chat.messages[1]
    assert answer.page_button.isVisible()  # the answer holds a whole page
    qtbot.mouseClick(answer.page_button, Qt.MouseButton.LeftButton)
    pane = window.previews.pane
    assert pane is not None
    qtbot.waitUntil(lambda: pane.isVisible() and pane.loads == 1, timeout=10_000)
    wait_for_text(qtbot, pane, lambda text: "Acme Rockets" in text)
    assert pane.references and pane.references[0].suffix == ".png" and pane.reference_scroll.isVisible()
    qtbot.waitUntil(lambda: pane.reference_box.findChild(_FitImage) is not None, timeout=5_000)  # read off-thread
    assert not pane.reference_box.findChild(_FitImage).pixmap().isNull()
    assert pane.parent() is window.splitter and window.splitter.sizes()[2] > 200

    pane.width_choice.setCurrentIndex(2)  # phone
    assert pane.view.width() == 390
    answer = window.chat.messages[1]
    answer.body.stable.codeAction.emit("preview", 1)  # the SVG block's Preview link
    qtbot.waitUntil(lambda: pane.loads == 2 and "<svg" in pane.html, timeout=10_000)

    answer.body.stable.codeAction.emit("copy", 0)
    assert QGuiApplication.clipboard().text() == PAGE + "\n"
    target = tmp_path / "out" / "index.html"
    target.parent.mkdir()
    monkeypatch.setattr("app.ui.chat.message_widget.QFileDialog.getSaveFileName", lambda *a, **k: (str(target), ""))
    answer.body.stable.codeAction.emit("save", 0)
    assert target.read_text() == PAGE + "\n"

    opened: list[QUrl] = []
    monkeypatch.setattr("app.ui.preview.pane.QDesktopServices.openUrl", lambda url: opened.append(url) or True)
    path = pane.open_in_browser()
    assert path is not None and path.read_text() == pane.html and opened == [QUrl.fromLocalFile(str(path))]

    pane.toggle_detached()
    assert pane.isWindow() and pane.buttons["detach"].text() == "Attach"
    pane.toggle_detached()
    assert not pane.isWindow() and pane.parent() is window.splitter
    qtbot.mouseClick(pane.buttons["close"], Qt.MouseButton.LeftButton)
    assert not pane.isVisible()


def test_the_preview_follows_a_streaming_answer_at_a_few_frames_a_second(qtbot: QtBot, window: MainWindow) -> None:
    widget = window.chat.add_message("assistant", "Gemma")
    widget.begin_stream()
    text = "Working on it:\n\n```html\n<!DOCTYPE html><html><body>\n"
    widget.stream(None, text)
    assert not widget.page_button.isHidden()  # a page being written already counts
    window.previews.show_for(widget, 0)
    pane = window.previews.pane
    assert pane is not None
    first = pane.loads
    t0 = time.monotonic()
    for i in range(60):  # 60 updates over ~1.2 s
        text += f"<p>line {i}</p>\n"
        widget.stream(None, text)
        qtbot.wait(20)
    elapsed = time.monotonic() - t0
    streamed = pane.loads - first
    # Throttled: at most one render per UPDATE_INTERVAL_MS (plus the first), not one per update.
    assert 1 <= streamed <= elapsed / (UPDATE_INTERVAL_MS / 1000) + 2 and streamed < 20
    widget.stream(None, text + "</body></html>\n```\n")
    widget.end_stream()  # the final text renders at once
    assert "line 59" in pane.html and "</html>" in pane.html
    wait_for_text(qtbot, pane, lambda text: "line 59" in text)


def test_fix_this_sends_the_rendering_and_the_original_back(qtbot: QtBot, window: MainWindow) -> None:
    answer = window.chat.messages[1]
    qtbot.mouseClick(answer.page_button, Qt.MouseButton.LeftButton)
    pane = window.previews.pane
    assert pane is not None
    wait_for_text(qtbot, pane, lambda text: "Acme Rockets" in text)
    assert pane.loads == 1
    qtbot.mouseClick(pane.buttons["fix"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(window.composer.attachments()) == 2, timeout=10_000)
    original, rendering = window.composer.attachments()
    assert original.kind == rendering.kind == "image"
    assert original.source_path == pane.references[0] and rendering.name == "rendered page.png"
    assert window.composer.text().startswith("The first picture is the page I want")


def test_screenshot_to_html_takes_the_clipboard_and_suggests_the_best_settings(
    qtbot: QtBot, window: MainWindow
) -> None:
    settings = Settings.load()
    assert settings.get_int("vision_budget") < 1120
    image = QImage(200, 120, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.darkCyan)
    QGuiApplication.clipboard().setImage(image)
    window.composer.clear()
    qtbot.keyClick(window, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: len(window.composer.attachments()) == 1, timeout=10_000)
    assert window.composer.attachments()[0].kind == "image"
    assert window.composer.text() == PROMPT and "single ```html code block" in PROMPT
    notice = window.notice_bar.label.text()
    assert "Think" in notice and "1120-token vision budget" in notice and window.notice_bar.action.isVisible()
    window.notice_bar.action.click()  # "Use them"
    assert window.composer.think_button.isChecked()
    assert Settings.load().get_int("vision_budget") == 1120
