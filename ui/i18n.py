"""The operator's language on screen, read from the one translation catalog.

Every visible string lives in the gettext catalog ``resources/locale/<locale>/LC_MESSAGES/
consentdesk.po`` (read by :mod:`app.i18n`), shared with the printed documents and the core's
error messages, so one term has one translation everywhere. To add a string: add its key to both
``.po`` files (English and zh_CN) and call ``i18n.tr(key)``; the catalog tests fail on a key
used here but missing there, on an untranslated or fuzzy entry, and on an entry nobody uses.

Two languages are in play at the same time: the *operator's* language (the whole UI, switchable
at any moment) and the *enrollee's* language (the disclosure, the decision, the signature and
capture prompts the person reads). :meth:`I18n.tr` gives the former, :meth:`I18n.text` any one.

Widgets do not re-read strings themselves: they :meth:`I18n.bind` a setter to a key once, and a
language switch re-applies every binding. A binding whose widget was deleted is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QObject, QTranslator, Signal

from app.i18n import Pairs, shipped_catalog
from app.models import Language
from app.similarity import similarity_level

log = logging.getLogger(__name__)

#: ``key -> (English, Chinese)`` over the shared catalog (resources/locale/*/consentdesk.po).
STRINGS: Pairs = Pairs(shipped_catalog)


class I18n(QObject):
    """The operator's current language and the bindings that follow it."""

    changed = Signal(str)

    def __init__(self, language: Language = "en", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._language: Language = language
        self._bindings: list[tuple[Callable[[str], object], str, dict[str, object]]] = []

    @property
    def language(self) -> Language:
        return self._language

    def set_language(self, language: Language) -> None:
        if language == self._language:
            return
        self._language = language
        alive = []
        for setter, key, kwargs in self._bindings:
            try:
                setter(self.tr(key, **kwargs))
            except RuntimeError:  # the widget behind the setter was deleted
                continue
            alive.append((setter, key, kwargs))
        self._bindings = alive
        self.changed.emit(language)

    def prune(self) -> int:
        """Drop bindings whose widgets are gone (after lock), so no reference to a deleted
        screen, or to what it showed, survives. Returns how many were dropped."""
        before = len(self._bindings)
        alive = []
        for setter, key, kwargs in self._bindings:
            try:
                setter(self.tr(key, **kwargs))
            except RuntimeError:
                continue
            alive.append((setter, key, kwargs))
        self._bindings = alive
        return before - len(alive)

    # Deliberately not QObject.tr's signature: screens call ``tr("key", name=...)`` and Qt's own
    # tr (source-text contexts for lupdate) is never used on this object.
    def tr(self, key: str, **kwargs: object) -> str:  # type: ignore[override]
        """``key`` in the operator's language, formatted with ``kwargs``."""
        return self.text(key, self._language, **kwargs)

    @staticmethod
    def text(key: str, language: Language, **kwargs: object) -> str:
        """``key`` in a given language (the enrollee's, say). Unknown keys show as themselves so a
        missing entry is visible, never a crash."""
        template = shipped_catalog().text(key, language)
        return template.format(**kwargs) if kwargs else template

    def term(self, prefix: str, code: str, language: Language | None = None) -> str:
        """A stored code (audit action, liveness method) as words; the code if unknown."""
        return shipped_catalog().term(prefix, code, language or self._language)

    def similarity(self, distance: float, threshold: float) -> str:
        """A face distance as a similarity level in words (never the raw number)."""
        return self.tr(f"similarity.{similarity_level(distance, threshold)}")

    def bind(self, setter: Callable[[str], object], key: str, **kwargs: object) -> None:
        """Call ``setter`` with the translation now and after every language switch."""
        setter(self.tr(key, **kwargs))
        self._bindings.append((setter, key, kwargs))


#: Qt's own catalog (file and print dialogs, standard buttons) for each language; English needs
#: none: Qt's source strings are English.
QT_CATALOGS: dict[Language, str] = {"zh": "qtbase_zh_CN"}


class QtTranslation(QObject):
    """Keeps Qt's own dialogs (QFileDialog, QPrintDialog, QMessageBox's OK/Cancel/Yes/No) in the
    operator's language by installing Qt's shipped ``qtbase_<locale>.qm`` while it is not English.

    Why a separate object and not part of :class:`I18n`: a translator is installed on the whole
    application, so only the entry point (one per process) may own it; screens and tests create
    as many :class:`I18n` as they like without touching application state. PySide6-Essentials
    ships ``PySide6/Qt/translations/qtbase_zh_CN.qm`` (the PyInstaller spec keeps it).
    """

    def __init__(
        self,
        i18n: I18n,
        app: QCoreApplication,
        directory: str | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._app = app
        self._directory = directory or QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        self._translator: QTranslator | None = None
        self._i18n = i18n
        i18n.changed.connect(self._apply)
        self._apply(i18n.language)

    @property
    def active(self) -> bool:
        """True while Qt's catalog for a non-English language is installed."""
        return self._translator is not None

    def _apply(self, language: str) -> None:
        self._remove()
        name = next((v for k, v in QT_CATALOGS.items() if k == language), None)
        if name is None:
            return
        translator = QTranslator(self)
        if not translator.load(name, self._directory):
            log.warning("Qt's own translation %s is missing: its dialogs stay in English", name)
            return
        self._app.installTranslator(translator)
        self._translator = translator

    def _remove(self) -> None:
        if self._translator is not None:
            self._app.removeTranslator(self._translator)
            self._translator = None

    def detach(self) -> None:
        """Remove Qt's catalog and stop following the language (tests, shutdown)."""
        self._i18n.changed.disconnect(self._apply)
        self._remove()
