"""Start the workstation UI: ``main(argv, home)`` is what ``consentdesk`` (no subcommand) calls.

Why the setup lives here and nowhere else: high-DPI rounding must be set before the
QApplication exists, the CJK font must be registered before the first widget is polished, and
every dependency (runner, translations, prompts, camera) is built once here and passed down.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, QThread
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from ui.camera import CameraThread
from ui.context import UiContext
from ui.dialogs import Prompts
from ui.i18n import I18n, QtTranslation
from ui.theme import apply_theme
from ui.worker import Runner


def create_application(argv: Sequence[str]) -> QApplication:
    """The QApplication, with high-DPI scaling and the theme applied (reused if one exists)."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        app = existing
    else:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
        )
        # argv are the CLI's own arguments (no program name): Qt expects one first.
        app = QApplication(["consentdesk", *argv])
    app.setApplicationName("ConsentDesk")
    apply_theme(app)
    return app


def main(argv: Sequence[str], home: Path) -> int:
    """Run the UI on the vault in ``home`` until the window is closed; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from app.desk import Desk
    from ui.app_window import MainWindow

    app = create_application(argv)
    i18n = I18n("zh" if QApplication.instance() and _system_prefers_chinese() else "en")
    qt_translation = QtTranslation(i18n, app)  # Qt's own dialogs follow the operator's language
    runner = Runner()
    ctx = UiContext(i18n=i18n, runner=runner, prompts=Prompts(i18n))
    window = MainWindow(Path(home), Desk, ctx)
    window.show()
    # The face models load after sign-in, once the registry shows (MainWindow.on_unlocked).
    code = app.exec()
    # A camera thread stopped while busy finishes on its own (ui.camera.dispose); the program
    # must not end under it, or Qt aborts with "QThread: Destroyed while thread is still running".
    if CameraThread.stop_all(10000):
        logging.getLogger(__name__).warning("a camera was still running at exit; stopped it")
    for thread in app.findChildren(QThread):
        thread.wait(10000)
    runner.wait(10000)
    ctx.close()
    qt_translation.detach()
    return int(code)


def _system_prefers_chinese() -> bool:
    from PySide6.QtCore import QLocale

    return QLocale.system().language() == QLocale.Language.Chinese


if __name__ == "__main__":  # pragma: no cover - manual start: python -m ui.main HOME
    from app.paths import resolve_home

    sys.exit(main(sys.argv, resolve_home(sys.argv[1] if len(sys.argv) > 1 else None)))
