"""The one background helper: run a function off the GUI thread and get its result by signal.

Why one helper: every slow call (unlock's key derivation, enrollment, backup, purge, PDF
rendering, face embedding) has the same needs: never freeze the window, report progress, turn an
exception into a message, and never let worker code touch a widget. Callbacks are connected to
signals of a QObject that lives in the GUI thread, so they always run there.

A task function may accept a ``progress`` keyword argument; it is then given a callable
``progress(done, total)`` that is safe to call from the worker thread.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import traceback
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, SignalInstance, Slot

log = logging.getLogger(__name__)

T = TypeVar("T")


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(object)
    progress = Signal(int, int)


class _Task(QRunnable):
    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]):
        super().__init__()
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.signals = _Signals()
        self.setAutoDelete(False)  # the Runner keeps it until the result is delivered

    @Slot()
    def run(self) -> None:
        kwargs = dict(self.kwargs)
        if _accepts_progress(self.fn):
            emit = self.signals.progress.emit
            kwargs["progress"] = lambda done, total: emit(int(done), int(total))
        try:
            result = self.fn(*self.args, **kwargs)
        except BaseException as exc:  # handed to the GUI thread; never swallowed silently
            if not _is_expected(exc):
                # Type and stack only: the message may contain personal data.
                log.error(
                    "background task failed: %s\n%s",
                    type(exc).__name__,
                    "".join(traceback.format_tb(exc.__traceback__)),
                )
            self.signals.failed.emit(exc)
            return
        self.signals.done.emit(result)


def disconnect_all(signal: SignalInstance) -> None:
    """Disconnect every slot; quietly do nothing when there are none (PySide warns then)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with contextlib.suppress(RuntimeError, TypeError):
            signal.disconnect()


def _accepts_progress(fn: Callable[..., Any]) -> bool:
    try:
        return "progress" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _is_expected(exc: BaseException) -> bool:
    from app.errors import ConsentDeskError

    return isinstance(exc, ConsentDeskError)


class Runner(QObject):
    """Starts tasks on a thread pool and keeps them alive until their result arrives."""

    busy_changed = Signal(bool)

    def __init__(self, pool: QThreadPool | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = pool or QThreadPool.globalInstance()
        self._tasks: set[_Task] = set()
        self._generation = 0

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    def submit(
        self,
        fn: Callable[..., T],
        *args: object,
        on_done: Callable[[T], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        **kwargs: object,
    ) -> None:
        """Run ``fn(*args, **kwargs)`` in the pool; callbacks run in the GUI thread.

        A callback never runs after :meth:`forget` (a result already queued when the screen
        was locked is dropped), nor when the widget it is a method of has been deleted.
        """
        task = _Task(fn, args, kwargs)
        was_busy = self.busy
        self._tasks.add(task)

        def finish(_: object = None) -> None:
            self._tasks.discard(task)
            if not self.busy:
                self.busy_changed.emit(False)

        generation = self._generation
        if on_done is not None:
            task.signals.done.connect(self._guard(on_done, generation))
        if on_error is not None:
            task.signals.failed.connect(self._guard(on_error, generation))
        if on_progress is not None:
            task.signals.progress.connect(self._guard(on_progress, generation))
        task.signals.done.connect(finish)
        task.signals.failed.connect(finish)
        if not was_busy:
            self.busy_changed.emit(True)
        self.pool.start(task)

    def forget(self) -> None:
        """Drop the callbacks of every running task (on lock: their widgets are going away).

        The tasks themselves finish; only their results are discarded.
        """
        self._generation += 1  # results already queued for delivery are dropped as well
        for task in list(self._tasks):
            for signal in (task.signals.done, task.signals.failed, task.signals.progress):
                disconnect_all(signal)
            task.signals.done.connect(lambda _r, t=task: self._tasks.discard(t))
            task.signals.failed.connect(lambda _e, t=task: self._tasks.discard(t))

    def _guard(self, callback: Callable[..., None], generation: int) -> Callable[..., None]:
        owner = getattr(callback, "__self__", None)

        def call(*args: Any) -> None:
            if generation != self._generation:
                return
            if isinstance(owner, QObject) and not shiboken6.isValid(owner):
                return
            callback(*args)

        return call

    def wait(self, msecs: int = 30000) -> bool:
        """Block until every task has finished (used at shutdown and by tests)."""
        return self.pool.waitForDone(msecs)
