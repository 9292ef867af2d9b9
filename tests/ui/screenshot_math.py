"""Screenshot of the real window showing an answer with inline and display math (run under xvfb-run).

xvfb-run -a -s "-screen 0 1280x860x24" uv run python -m tests.ui.screenshot_math /tmp/math.png [--dark]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

QUESTION = "How do I solve a quadratic equation?"
ANSWER = r"""For $ax^2 + bx + c = 0$ with $a \neq 0$, the roots are

$$
x = \frac{-b \pm \sqrt{b^2 - 4ac}}{2a}
$$

The discriminant \(\Delta = b^2 - 4ac\) tells you how many real roots there are: two when $\Delta > 0$,
one when $\Delta = 0$, none when $\Delta < 0$. In matrix form, a rotation by $\theta$ is

\[
R(\theta) = \begin{pmatrix} \cos\theta & -\sin\theta \\ \sin\theta & \cos\theta \end{pmatrix}
\]

and $\sum_{i=1}^{n} i = \frac{n(n+1)}{2}$. (A calculator costs $5 and a textbook $10 — that is just text.)
"""


def main(out: Path) -> None:
    os.environ.setdefault("GEMMA_DESK_HOME", tempfile.mkdtemp(prefix="gemma-desk-shot-"))
    from PySide6.QtCore import QTimer

    from app.store import Store
    from app.ui.shell.app import create_window
    from tests.ui.shots import themed_app

    app = themed_app("--dark" in sys.argv)
    store, _ = Store.open_or_recover()
    chat = store.create_conversation(title="Quadratic equations")
    user = store.add_message(chat.id, parent_id=None, role="user", content=QUESTION)
    store.add_message(chat.id, parent_id=user.id, role="assistant", content=ANSWER, status="complete")
    store.close()

    window = create_window(app)
    window.resize(1240, 820)
    window.show()

    def shoot() -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(out))
        print(f"saved {out}")
        window.close()
        app.quit()

    QTimer.singleShot(200, lambda: window.controller.open_conversation(chat.id, lambda: QTimer.singleShot(6000, shoot)))
    app.exec()


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(Path(args[0] if args else "/tmp/math.png"))
