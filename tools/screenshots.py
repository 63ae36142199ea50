"""Screenshot every screen of the workstation UI, in English and Simplified Chinese.

Usage: ``python tools/screenshots.py [OUTPUT_FOLDER] [--size WxH ...]`` (default
``./screenshots``, gitignored; sizes 1366x768 and 1920x1080, each in its own subfolder).
1366x768 is the smallest desk screen the workstation must fit: a screen cut off there is a bug.

Why this exists: a screen nobody looked at is not done. This drives the real UI offscreen
against a throw-away vault filled with made-up people, so reviewers can check layout, clipping,
the CJK font (no tofu boxes) and that *consent* and *refuse* carry equal weight, in both
languages, without a camera or a display. The shared test video stands in for the camera when
``CONSENTDESK_TESTDATA`` (or ../shared/testdata) is present.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QDate
from PySide6.QtWidgets import QApplication, QScrollArea, QWidget

PASSWORD = "correct horse battery"
PEOPLE = [
    ("Mei Lin", "Unit 12B", "zh"),
    ("Ravi Patel", "HR-0042", "en"),
    ("Sam Okafor", "Unit 3A", "en"),
    ("王小明", "Unit 7C", "zh"),
    ("Aisha Rahman", "HR-0107", "en"),
    ("Lucas Moreau", "Unit 9F", "en"),
]


def wait(
    condition: Callable[[], bool] | None = None, timeout: float = 10.0, at_least: float = 0.0
) -> None:
    """Run the event loop until ``condition`` holds (or ``timeout``), at least ``at_least`` s."""
    app = QApplication.instance()
    assert app is not None
    start = time.monotonic()
    while True:
        app.processEvents()
        elapsed = time.monotonic() - start
        if elapsed >= at_least and (condition is None or condition()):
            return
        if elapsed > timeout:
            return
        time.sleep(0.02)


def sign(pad: Any) -> None:
    """A made-up zigzag signature, long enough to pass the core's signature rules."""
    width, height = pad.width(), pad.height()
    pad.add_stroke(
        [(width * (0.15 + 0.7 * i / 39), height * (0.3 if i % 2 else 0.7)) for i in range(40)]
    )


class Shooter:
    def __init__(self, out: Path, size: tuple[int, int]) -> None:
        self.out = out
        self.size = size
        self.taken: list[Path] = []

    def __call__(self, widget: QWidget, name: str, lang: str) -> None:
        wait(at_least=0.15)
        path = self.out / f"{lang}_{name}.png"
        widget.grab().save(str(path))
        self.taken.append(path)


class Prompts:
    """Non-blocking stand-ins for the modal dialogs."""

    def __init__(self, i18n: Any, open_path: str | None) -> None:
        self.i18n = i18n
        self._open = open_path

    def error(self, parent: Any, exc: BaseException) -> None:
        print("error shown:", type(exc).__name__, exc)

    def info(self, parent: Any, text: str, *, warning: bool = False) -> None:
        pass

    def confirm(self, parent: Any, text: str) -> bool:
        return True

    def typed_confirm(self, parent: Any, title: str, body: str, word: str) -> bool:
        return True

    def text(self, parent: Any, title: str, label: str, *, secret: bool = False) -> str | None:
        if label == self.i18n.tr("cap.skip.reason"):
            return "Demo: a recorded video cannot blink on request."
        return None

    def save_path(self, parent: Any, suggested: str, file_filter: str) -> str | None:
        return None

    def open_path(self, parent: Any, file_filter: str) -> str | None:
        return self._open

    def recovery_code(self, parent: Any, code: str, org: str, *, replaces: bool = False) -> None:
        pass


def testdata() -> Path | None:
    env = os.environ.get("CONSENTDESK_TESTDATA")
    root = (
        Path(env) if env else Path(__file__).resolve().parent.parent.parent / "shared" / "testdata"
    )
    return root if (root / "faces").is_dir() else None


def seed(home: Path, engine: Any, faces: Path | None) -> None:
    """A vault with one purpose and a few made-up people (templates from the shared photos)."""
    import numpy as np

    from app.desk import Desk, DeskOptions, EnrollmentRequest, PersonDetails, RefusalRequest
    from app.keyslots import KdfParams
    from app.models import LivenessResult, Signature, SignaturePoint

    options = DeskOptions(kdf=KdfParams(time_cost=1, memory_cost=8192, parallelism=1))
    desk, _ = Desk.initialise(home, "Harbour View Residences", "admin", PASSWORD, options=options)
    purpose = desk.add_purpose(
        title="Building entry",
        controller="Harbour View Residences",
        contact="privacy@harbour.example",
        retention_days=365,
        alternative="A key card from the front desk",
        description="Opening the lobby doors for residents.",
        # issue-13: a purpose is shown only in the languages it has every text for.
        title_zh="大楼出入",
        controller_zh="海景公寓",
        alternative_zh="在前台领取门禁卡",
        description_zh="为住户开启大堂门。",
    )
    from app.compliance.service import Compliance  # issue-16: enrolment needs a signed test
    from app.compliance.types import NecessityAnswers

    Compliance(desk).assess_purpose(
        purpose.id,
        NecessityAnswers(
            "Residents open the lobby hands-free at night, when nobody staffs the desk.",
            "Key cards are lent and lost; the card stays available to anyone who prefers it.",
            "building_access",
            "Front-desk staff and the building manager",
        ),
    )
    # A second purpose whose necessity test is not signed yet: marked in Settings, greyed out
    # in the wizard (issue 16).
    desk.add_purpose(
        title="Staff canteen",
        controller="Harbour View Residences",
        contact="privacy@harbour.example",
        retention_days=180,
        alternative="Pay at the till",
        description="Paying for lunch without a card.",
        title_zh="员工食堂",
        controller_zh="海景公寓",
        alternative_zh="在收银台付款",
        description_zh="无需卡片支付午餐。",
    )
    desk.add_user("frontdesk", PASSWORD, "operator")
    strokes = (tuple(SignaturePoint(40 + i * 12, 60 + (i % 2) * 50, i * 20) for i in range(40)),)
    signature = Signature(strokes, 600, 200)
    photos = sorted(faces.glob("*_1.*")) if faces else []
    rng = np.random.default_rng(7)
    for n, (name, ref, lang) in enumerate(PEOPLE):
        disclosure = desk.disclosure(purpose.id, lang)
        details = PersonDetails(name, ref, None, lang, age_basis="id_document_seen")
        if n == 2:
            desk.refuse(
                RefusalRequest(
                    details,
                    purpose.id,
                    disclosure.sha256,
                    purpose.alternative,
                    signature,
                    in_name=True,
                )
            )
            continue
        if engine is not None and n < len(photos):
            from app.bio.images import load_image

            emb = engine.analyse_photo(load_image(photos[n])).single_encoding()
        else:
            vec = rng.normal(size=128)
            emb = vec / np.linalg.norm(vec)
        desk.enroll(
            EnrollmentRequest(
                details,
                purpose.id,
                disclosure.sha256,
                signature,
                [list(map(float, emb))],
                LivenessResult(True, note="seeded"),
                acknowledged_warnings=True,
            )
        )
    desk.lock()


DEFAULT_SIZES = ((1366, 768), (1920, 1080))


def main(argv: list[str]) -> int:
    args = list(argv[1:])
    sizes: list[tuple[int, int]] = []
    while "--size" in args:
        at = args.index("--size")
        width, height = args[at + 1].lower().split("x")
        sizes.append((int(width), int(height)))
        del args[at : at + 2]
    out = Path(args[0] if args else "screenshots").resolve()
    out.mkdir(parents=True, exist_ok=True)
    from ui.main import create_application

    create_application(["screenshots"])
    data = testdata()
    faces = data / "faces" if data else None
    video = data / "video" / "short_hamilton_clip.mp4" if data else None
    engine: Any = None
    try:
        from app.bio.engine import BioEngine

        engine = BioEngine.create()
    except Exception as exc:  # no models: screenshots still work, without face data
        print("face engine unavailable:", type(exc).__name__)

    taken = 0
    for size in sizes or DEFAULT_SIZES:
        # A maximised window leaves about 68 px of the screen to the panel and the title bar.
        window = (size[0], size[1] - 68)
        folder = out / f"{size[0]}x{size[1]}"
        folder.mkdir(exist_ok=True)
        taken += shoot_size(Shooter(folder, window), engine, faces, video)
    if engine is not None:
        engine.close()
    print(f"{taken} screenshots in {out}")
    return 0


def shoot_size(shoot: Shooter, engine: Any, faces: Path | None, video: Path | None) -> int:
    from app.bio.sources import VideoFileSource
    from app.desk import Desk
    from ui.app_window import MainWindow
    from ui.context import UiContext
    from ui.i18n import I18n, QtTranslation
    from ui.worker import Runner

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        seed(home, engine, faces)
        for lang in ("en", "zh"):
            i18n = I18n(lang)  # type: ignore[arg-type]
            qt_dialogs = QtTranslation(i18n, app)  # Qt's own buttons and dialogs, as in ui.main
            photo = str(faces / "obama_2.jpg") if faces else None
            ctx = UiContext(
                i18n=i18n,
                runner=Runner(),
                prompts=Prompts(i18n, photo),  # type: ignore[arg-type]
                open_camera=(lambda _i: VideoFileSource(video, loop=True))
                if video
                else (lambda _i: VideoFileSource(Path(tmp) / "missing.mp4")),
                camera_pace_fps=30.0,
                engine_factory=(lambda: engine) if engine else None,
            )
            shoot_lang(
                shoot, lang, ctx, home, Path(tmp), Desk, MainWindow, sign, VideoFileSource, video
            )
            qt_dialogs.detach()
    return len(shoot.taken)


def shoot_lang(
    shoot: Shooter,
    lang: str,
    ctx: Any,
    home: Path,
    tmp: Path,
    desk_cls: Any,
    window_cls: Any,
    sign: Any,
    video_source: Any,
    video: Path | None,
) -> None:
    # first start: the init form
    fresh = window_cls(tmp / f"fresh-{lang}", desk_cls, ctx)
    fresh.resize(*shoot.size)
    fresh.show()
    shoot(fresh, "01_init", lang)
    from ui.screens.recovery import RecoveryCodeDialog

    dialog = RecoveryCodeDialog(
        "ZXB6W-MD2RB-YQLAG-6WHDK-ZRVRP",
        "Harbour View Residences",
        ctx.i18n,
        fresh,
        confirm=lambda _parent, _text: True,
    )
    dialog.show()
    shoot(dialog, "02_recovery_code", lang)
    dialog.close()
    fresh.close()

    win = window_cls(home, desk_cls, ctx)
    win.resize(*shoot.size)
    win.show()
    shoot(win, "03_sign_in", lang)
    screen = win.unlock_screen
    screen.username.setText("admin")
    for _ in range(4):
        screen.password.setText("wrong password")
        screen.login_button.setEnabled(True)
        screen.submit_login()
        wait(lambda: screen.login_button.isEnabled() or bool(screen._wait_until), 10)
    shoot(win, "04_wrong_password_backoff", lang)
    # A restart during the back-off: the new window counts down before anyone types.
    restarted = window_cls(home, desk_cls, ctx)
    restarted.resize(*shoot.size)
    restarted.show()
    shoot(restarted, "04b_backoff_after_restart", lang)
    restarted.close()
    from app.backoff import LoginBackoff
    from app.paths import VaultPaths

    LoginBackoff(VaultPaths(home).login_state).record_success()  # reset for the real sign-in
    screen._wait_until = 0.0
    screen._tick()
    screen.password.setText(PASSWORD)
    screen.submit_login()
    wait(lambda: win.workspace is not None, 15)
    ws = win.workspace
    assert ws is not None, "sign-in failed"

    wizard = ws.wizard
    shoot(win, "05_enroll_start", lang)
    wizard.start_button.click()
    details = wizard.pages["details"]
    details.name.setText("Mei Lin")
    details.adult_seen.setChecked(True)  # issue-13: no date of birth typed
    details.reference.setText("Unit 12B")
    details.language.setCurrentIndex(details.language.findData("zh"))
    wait(lambda: details.similar.isVisible(), 3)
    shoot(win, "06_details_similar_name", lang)
    usable = details.purpose.currentIndex()
    details.purpose.setCurrentIndex(details.purpose.count() - 1)  # the one lacking its test
    wizard.next_button.click()
    shoot(win, "06b_details_purpose_blocked", lang)
    details.purpose.setCurrentIndex(usable)
    wizard.next_button.click()
    shoot(win, "07_disclosure_zh_person", lang)
    wizard.back_button.click()
    details.language.setCurrentIndex(details.language.findData("en"))
    wizard.next_button.click()
    shoot(win, "08_disclosure_en_person", lang)
    wizard.back_button.click()
    details.language.setCurrentIndex(details.language.findData("zh"))
    wizard.next_button.click()
    wizard.next_button.click()
    shoot(win, "09_decision", lang)
    wizard.decision_page.consent_button.click()
    wait(at_least=0.2)
    sign(wizard.pages["signature"].pad)
    shoot(win, "10_signature", lang)
    wizard.next_button.click()
    capture = wizard.capture_page
    if video is not None:
        wait(at_least=1.5)  # let a liveness prompt and the quality checks appear
        wait(lambda: capture.preview.box is not None, 20)
    shoot(win, "11_capture_live", lang)
    if capture.manual_button.isEnabled():
        capture.manual_capture()
        wait(lambda: wizard.current == "review", 20)
        review = wizard.review_page
        wait(lambda: bool(review.ack_boxes) or review.save_button.isEnabled(), 20)
        shoot(win, "12_review_warnings", lang)
        for box in review.ack_boxes:
            box.setChecked(True)
        review.save()
        wait(lambda: wizard.current == "done", 20)
        wait(
            lambda: (
                bool(wizard.done_page.document.rendered)
                or bool(wizard.done_page.document.status.text())
            ),
            20,
            at_least=0.5,
        )
        wait(lambda: bool(wizard.done_page.document.rendered), 10)
        shoot(win, "13_done_document", lang)
    # camera missing
    wizard.reset()
    saved_camera = ctx.open_camera
    ctx.open_camera = lambda _i: video_source(tmp / "no-camera.mp4")
    wizard.start_button.click()
    details.name.setText("Lucas Moreau")
    details.adult_seen.setChecked(True)  # issue-13: no date of birth typed
    wizard.next_button.click()
    wizard.next_button.click()
    wizard.decision_page.consent_button.click()
    sign(wizard.pages["signature"].pad)
    wizard.next_button.click()
    wait(lambda: capture.stack.currentIndex() == 1, 10)
    shoot(win, "14_capture_no_camera", lang)
    ctx.open_camera = saved_camera
    wizard.reset()
    # refusal path: signature page with its own wording
    wizard.start_button.click()
    details.name.setText("Aisha Rahman")
    details.adult_seen.setChecked(True)  # issue-13: no date of birth typed
    wizard.next_button.click()
    wizard.next_button.click()
    wizard.decision_page.refuse_button.click()
    shoot(win, "15_refusal_signature", lang)
    wizard.reset()
    # a minor who signed the printed form: the guardian step asks for the name only
    wizard.start_button.click()
    details.name.setText("Yuki Tanaka")
    minor = QDate.currentDate().addYears(-12)
    details.dob.setText(minor.toString("yyyy-MM-dd"))
    wizard.next_button.click()
    wizard.next_button.click()
    wizard.decision_page.consent_button.click()
    signature_page = wizard.pages["signature"]
    signature_page.paper.setChecked(True)
    signature_page.guardian_name.setText("Hana Tanaka")
    shoot(win, "15b_paper_minor_guardian_name", lang)
    wizard.reset()

    ws.tabs.setCurrentWidget(ws.registry)
    reg = ws.registry
    wait(at_least=0.3)
    reg.table.selectRow(0)
    wait(at_least=0.3)
    shoot(win, "16_registry", lang)
    reg.person.tabs.setCurrentIndex(1)
    reg.person.docs.selectRow(0)
    reg.person.show_selected_document()
    wait(lambda: bool(reg.person.document_view.rendered), 15)
    shoot(win, "17_registry_documents", lang)
    reg.person.tabs.setCurrentIndex(2)
    shoot(win, "18_registry_audit", lang)
    from ui.screens.rectify_dialog import RectifyDialog

    assert reg.person.person is not None
    rd = RectifyDialog(ctx.i18n, reg.person.person, lambda _n, _r: None, win)
    rd.show()
    shoot(rd, "18b_rectify_dialog", lang)
    rd.close()

    ws.tabs.setCurrentWidget(ws.withdrawal)
    wd = ws.withdrawal
    wd.search.setText("Ravi")
    wd.find_by_name()
    wd.results.setCurrentRow(0)
    shoot(win, "19_withdrawal_found", lang)
    wd.identify_with_camera()
    if video is not None:
        wait(lambda: wd.results.count() > 0 or (wd.preview.box is not None), 20)
    shoot(win, "19b_withdrawal_by_face", lang)
    wait(lambda: wd.camera is None, 20)
    wd.stop_camera()
    wd.search.setText("Ravi")
    wd.find_by_name()
    wd.results.setCurrentRow(0)
    if lang == "en":
        wd.withdraw()
        wait(lambda: bool(wd.document.rendered) or "rror" in wd.message.text(), 20)
        shoot(win, "20_withdrawal_receipt", lang)

    ws.tabs.setCurrentWidget(ws.settings)
    wait(at_least=0.3)
    shoot(win, "21_settings", lang)
    settings = ws.settings
    settings.maintenance.verify()
    wait(lambda: "..." not in settings.maintenance.message.text(), 20, at_least=0.3)
    scroll = settings.findChild(QScrollArea)
    if scroll is not None:
        scroll.verticalScrollBar().setValue(scroll.verticalScrollBar().maximum())
    shoot(win, "21b_settings_maintenance", lang)
    # organisation rename refused by the core (empty name): said inline, in the UI's language
    if scroll is not None:
        scroll.verticalScrollBar().setValue(0)
    settings.org_name.setText("")
    settings.rename_organisation()
    shoot(win, "21c_settings_rename_error", lang)
    settings.org_name.setText(ws.desk.organisation.name)
    settings.rename_organisation()  # the same name: nothing to do, the message goes
    # a core error in the real error dialog: a minor without a guardian (params formatted in)
    shoot_error_dialog(shoot, lang, ctx, win, ws.desk)
    from ui.screens.admin_dialogs import PurposeDialog

    desk = ws.desk
    pd = PurposeDialog(ctx.i18n, desk.list_purposes()[0], lambda _values: None, win)
    pd.show()
    shoot(pd, "22_purpose_dialog", lang)
    pd.close()
    from ui.screens.necessity import necessity_dialog

    nd = necessity_dialog(desk, ctx.i18n, desk.list_purposes()[-1].id, win)
    nd.show()
    nd.save_button.click()  # nothing answered yet: the dialog says so and stays open
    shoot(nd, "22b_necessity_dialog", lang)
    nd.close()
    if ws.compliance is not None:  # issues 16/17: the admin's compliance tab
        ws.tabs.setCurrentWidget(ws.compliance)
        wait(lambda: ws.compliance is not None and ws.compliance.overview is not None, 15)
        wait(at_least=0.3)
        shoot(win, "22c_compliance", lang)
        from ui.screens.assessment import assessment_dialog

        ad = assessment_dialog(desk, ctx, desk.list_purposes()[0].id, win)
        ad.show()
        shoot(ad, "22d_impact_assessment", lang)
        ad.close()
        ws.tabs.setCurrentWidget(ws.settings)
    ctx.i18n.set_language("zh" if lang == "en" else "en")
    wait(at_least=0.2)
    shoot(win, "23_settings_after_language_switch", lang)
    ctx.i18n.set_language(lang)  # type: ignore[arg-type]
    win.lock()
    shoot(win, "24_locked", lang)
    ctx.runner.wait(20000)
    win.close()


def shoot_error_dialog(shoot: Shooter, lang: str, ctx: Any, win: QWidget, desk: Any) -> None:
    """What ``Prompts.error`` shows for an error the core really raised."""
    import datetime as dt

    from app.desk import EnrollmentRequest, PersonDetails
    from app.errors import ConsentDeskError
    from app.models import Signature, SignaturePoint
    from ui.dialogs import Prompts as RealPrompts
    from ui.dialogs import error_text

    purpose = desk.list_purposes()[0]
    strokes = (tuple(SignaturePoint(40 + i * 12, 60 + (i % 2) * 50, i * 20) for i in range(40)),)
    child = dt.date.today().replace(year=dt.date.today().year - 10)
    request = EnrollmentRequest(
        PersonDetails("Yuki Tanaka", None, child, "en"),
        purpose.id,
        desk.disclosure(purpose.id, "en").sha256,
        Signature(strokes, 600, 200),
        [],
        None,
    )
    try:
        desk.enroll(request)
    except ConsentDeskError as exc:
        box = RealPrompts(ctx.i18n).message_box(win, error_text(exc, ctx.i18n), warning=True)
        box.show()
        shoot(box, "25_error_dialog", lang)
        box.close()
    else:  # pragma: no cover - the core accepted a minor without a guardian
        raise AssertionError("expected guardian_required")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
