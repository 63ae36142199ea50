"""How long the window takes from pressing Sign in to showing the registry's first page.

Issue 12 asks for a signed-in registry within 2 s on a 100,000-person vault, looked at. This
drives the real window (the same setup as ``ui.main``) on a vault built with
``consentdesk bench --scale N --keep FOLDER``: it types the bench's credentials, presses Sign
in, opens the Registry tab at once, waits until the first page's rows are in the table, and
saves a screenshot of that moment. Run it under Xvfb (``xvfb-run -s "-screen 0 1366x768x24"``)
or with ``QT_QPA_PLATFORM=offscreen``.

    python tools/signin_timing.py /work/tmp/k100/vault /tmp/registry.png [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("home", type=Path, help="the vault folder (bench --keep FOLDER/vault)")
    parser.add_argument("shot", type=Path, help="where to save the screenshot (PNG)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size", default="1366x768")
    args = parser.parse_args(argv[1:])
    width, height = (int(v) for v in args.size.split("x"))

    from PySide6.QtWidgets import QApplication

    from app.desk import Desk
    from app.vault_bench import ADMIN, PASSWORD
    from ui.app_window import MainWindow
    from ui.context import UiContext
    from ui.dialogs import Prompts
    from ui.i18n import I18n
    from ui.main import create_application
    from ui.worker import Runner

    app = create_application([])
    i18n = I18n("en")
    runner = Runner()
    ctx = UiContext(i18n=i18n, runner=runner, prompts=Prompts(i18n))
    times: list[float] = []
    for run in range(args.runs):
        window = MainWindow(args.home, Desk, ctx)
        window.resize(width, height)
        window.show()
        _spin(app, 0.5)
        screen = window.unlock_screen
        screen.username.setText(ADMIN)
        screen.password.setText(PASSWORD)
        started = time.perf_counter()
        screen.submit_login()
        while window.workspace is None:
            _spin(app, 0.005)
            if time.perf_counter() - started > 60:
                raise SystemExit("sign-in did not finish in 60 s")
        ws = window.workspace
        ws.tabs.setCurrentWidget(ws.registry)
        while ws.registry.model.rowCount() == 0 or not ws.registry.table.isVisible():
            _spin(app, 0.005)
            if time.perf_counter() - started > 60:
                raise SystemExit("the registry showed no rows in 60 s")
        shown = time.perf_counter() - started
        times.append(shown)
        total = ws.registry.model.total
        print(f"run {run + 1}: registry's first page after {shown:.2f} s ({total:,} people)")
        if run == 0:
            _spin(app, 0.2)
            window.grab().save(str(args.shot))
        window.lock()
        runner.wait(60000)
        window.close()
        _spin(app, 1.0)
    print(f"median {statistics.median(times):.2f} s over {len(times)} runs")
    runner.wait(60000)
    ctx.close()
    QApplication.processEvents()
    return 0


def _spin(app: object, seconds: float) -> None:
    from PySide6.QtWidgets import QApplication

    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        QApplication.processEvents()
        time.sleep(0.002)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
