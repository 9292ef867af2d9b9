"""Screenshot of the window with a screenshot attached, an answer with HTML, and the preview beside it (README).

The answer is scripted (the tiny test model writes random text); the window, the store, the message widgets, the
sandboxed preview and the attached screenshot (the target page, rendered by the same engine) are the real ones.

    xvfb-run -s "-screen 0 1600x900x24" uv run python -m tests.ui.screenshot_preview resources/screenshots/preview.png
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Northwind Coffee</title>
<style>
  :root { --ink: #1f2328; --brand: #8a4b2a; --cream: #fbf6ef; }
  * { box-sizing: border-box; }
  body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); }
  header { display: flex; justify-content: space-between; align-items: center; padding: 16px 32px; }
  header b { font-size: 20px; color: var(--brand); }
  nav a { margin-left: 20px; color: var(--ink); text-decoration: none; }
  .hero { background: var(--cream); padding: 56px 32px; display: grid; gap: 24px; }
  .hero h1 { font-size: 40px; margin: 0; max-width: 14ch; }
  .hero p { font-size: 18px; margin: 0; max-width: 40ch; color: #57606a; }
  .cta { justify-self: start; background: var(--brand); color: white; padding: 12px 22px; border-radius: 999px; }
  .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: 16px; padding: 32px; }
  .card { border: 1px solid #d0d7de; border-radius: 12px; padding: 18px; }
  .card h3 { margin: 0 0 6px; }
</style>
</head>
<body>
  <header><b>Northwind Coffee</b><nav><a href="#">Beans</a><a href="#">Brewing</a><a href="#">Visit</a></nav></header>
  <section class="hero">
    <h1>Roasted this week, in your cup tomorrow</h1>
    <p>Single-origin beans from small farms, roasted in small batches and shipped the same day.</p>
    <a class="cta" href="#">Shop the beans</a>
  </section>
  <main class="cards">
    <article class="card"><h3>Ethiopia Guji</h3><p>Peach, jasmine, honey.</p></article>
    <article class="card"><h3>Colombia Huila</h3><p>Red apple, caramel.</p></article>
    <article class="card"><h3>Sumatra Lintong</h3><p>Cedar, dark chocolate.</p></article>
  </main>
</body>
</html>"""

ANSWER = f"""Here is the page as one self-contained file: a header with the logo and navigation, a hero with \
the headline and call to action, and a responsive grid of three cards (it wraps to one column on a phone).

```html
{PAGE}
```

Colours are CSS custom properties, so the brand brown and the cream background are easy to change."""


def main(out: Path) -> None:
    os.environ.setdefault("GEMMA_DESK_HOME", tempfile.mkdtemp(prefix="gemma-desk-shot-"))
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtWidgets import QApplication

    from app.store import Store
    from app.ui.preview.pane import PreviewPane
    from app.ui.shell.app import allow_webengine_as_root, create_window

    allow_webengine_as_root()
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    app = QApplication(sys.argv[:1])
    app.setStyle("Fusion")

    def spin(condition: object, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
            app.processEvents()
            time.sleep(0.01)

    # The "screenshot" the user attached: the target page, rendered at a desktop width.
    target = PreviewPane()
    target.resize(1100, 760)
    target.show()
    target.show_html(PAGE)
    spin(lambda: False, 1.5)
    shot = Path(tempfile.mkdtemp()) / "northwind-landing.png"
    target.view.grab().save(str(shot))
    target.close()

    store, _ = Store.open_or_recover()
    for title in ("Trip to Lisbon: 3-day plan", "Explain this error log"):
        c = store.create_conversation(title=title)
        store.add_message(c.id, parent_id=None, role="user", content=title)
    chat = store.create_conversation(title="Screenshot → landing page HTML", thinking=True)
    ref = store.store_attachment_file(shot, shot.name, "image", "image/png")
    user = store.add_message(chat.id, parent_id=None, role="user", content="Make this page in HTML", attachments=(ref,))
    store.add_message(chat.id, parent_id=user.id, role="assistant", content=ANSWER, thinking="The screenshot shows…")
    store.close()

    window = create_window(app)
    window.resize(1560, 860)
    window.show()
    window.status.model_label.setText("Gemma 4 E4B it · Q4_K_M · CPU · vision, audio")
    window.composer.set_capabilities(model_loaded=True, vision=True, audio=True, model_name="Gemma 4 E4B it")
    window.media.set_model(loaded=True, vision=True, audio=True, name="Gemma 4 E4B it")
    window.controller.open_conversation(chat.id)
    spin(lambda: len(window.chat.messages) == 2)
    spin(lambda: False, 0.5)
    window.chat.messages[1].page_button.click()
    pane = window.previews.pane
    spin(lambda: pane is not None and pane.loads > 0)
    spin(lambda: False, 2.0)
    out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out))
    print(f"saved {out}")
    window.close()


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(Path(args[0] if args else "resources/screenshots/preview.png"))
