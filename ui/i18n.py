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

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.i18n import Pairs, shipped_catalog
from app.models import Language

#: ``key -> (English, Chinese)`` over the shared catalog (resources/locale/*/consentdesk.po).
STRINGS: Pairs = Pairs(shipped_catalog)


class I18n(QObject):
    """The operator's current language and the bindings that follow it."""

    changed = Signal(str)

    def __init__(self, language: Language = "en", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._language: Language = language
        self._bindings: list[tuple[Callable[[str], Any], str, dict[str, Any]]] = []

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

    def tr(self, key: str, **kwargs: Any) -> str:
        """``key`` in the operator's language, formatted with ``kwargs``."""
        return self.text(key, self._language, **kwargs)

    @staticmethod
    def text(key: str, language: Language, **kwargs: Any) -> str:
        """``key`` in a given language (the enrollee's, say). Unknown keys show as themselves so a
        missing entry is visible, never a crash."""
        template = shipped_catalog().text(key, language)
        return template.format(**kwargs) if kwargs else template

    def bind(self, setter: Callable[[str], Any], key: str, **kwargs: Any) -> None:
        """Call ``setter`` with the translation now and after every language switch."""
        setter(self.tr(key, **kwargs))
        self._bindings.append((setter, key, kwargs))
