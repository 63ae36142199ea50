"""What every command shares: the :class:`Context`, JSON output and the command registry.

Why a registry object instead of each module building argparse parsers by hand: every command
and every nested subcommand must accept the global options (``--home``, ``--json``) after its
name as well as before it, and must get them in a way that does not overwrite a value given
before the command. :class:`Commands` is the one place that knows how (see
:func:`add_global_options`), so a new command module cannot get it wrong.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import getpass
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO, TypeAlias

from app.cli.output import (
    escape_json,
    escape_text,
    prepare_file,
    prepare_folder,
    write_file,
)
from app.desk import Desk, DeskOptions
from app.errors import READ_ONLY_NOTICE, InvalidInput
from app.paths import resolve_home
from app.upgrade import UpgradeStep

# What ``to_jsonable`` returns: the JSON data model.
Json = None | bool | int | float | str | list["Json"] | dict[str, "Json"]


def to_jsonable(value: object) -> Json:
    """Frozen dataclasses, dates, paths and collections as JSON; bytes (PDFs, keys) as null."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return None  # PDFs and keys never go to stdout as JSON
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def json_object(value: object) -> dict[str, Json]:
    """A dataclass or mapping as a JSON object, for output that adds fields of its own."""
    out = to_jsonable(value)
    if not isinstance(out, dict):
        raise TypeError(f"{type(value).__name__} is not a JSON object")
    return out


class UpgradeLines:
    """The upgrade at sign-in on stderr: a line when a step starts, at each further 10 %, at
    its end, and its notice (``upgrade 3/5: migration 14 (...): 40%``), so a long first
    sign-in after an update is seen to move and is not killed as hung."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._last: tuple[int, int] | None = None

    def __call__(self, step: UpgradeStep) -> None:
        tenth = int(step.fraction * 10)
        if step.notice is None and self._last == (step.number, tenth):
            return
        self._last = (step.number, tenth)
        print(f"consentdesk: {step.line()}", file=self.stream, flush=True)


class Context:
    """What every command needs: the home folder, the environment, the streams, prompts."""

    def __init__(
        self,
        args: argparse.Namespace,
        environ: Mapping[str, str],
        stdout: TextIO,
        stderr: TextIO,
        stdin: TextIO,
    ) -> None:
        self.args = args
        self.environ = environ
        self.stdout = stdout
        self.stderr = stderr
        self.stdin = stdin
        home: str | None = getattr(args, "home", None)
        self.home = resolve_home(home, environ)
        self.json = bool(getattr(args, "json", False))
        # The password this command signed in with: it proves the user for `user passwd` of
        # their own account (the core asks for the current password there).
        self.signed_in_password: str | None = None

    def emit(self, obj: object, text: str | Callable[[], str]) -> None:
        """``obj`` as one JSON line with ``--json``, otherwise the human-readable ``text``."""
        if self.json:
            print(escape_json(json.dumps(to_jsonable(obj), ensure_ascii=False)), file=self.stdout)
        else:
            print(escape_text(text() if callable(text) else text), file=self.stdout)

    def info(self, text: str) -> None:
        print(escape_text(text), file=self.stderr)

    # -- output files (issue-11): checked before the command changes anything, written 0600 --
    def out_file(self, raw: str | Path, what: str = "the output file") -> Path:
        return prepare_file(raw, self.home, what)

    def out_folder(self, raw: str | Path, what: str = "the output folder") -> Path:
        return prepare_folder(raw, self.home, what)

    def write(self, path: str | Path, data: bytes) -> Path:
        return write_file(Path(path), data, self.home)

    def ask(self, prompt: str, secret: bool = False) -> str:
        if not self.stdin.isatty():
            raise InvalidInput(
                f"{prompt.rstrip(': ')} is needed; no terminal to ask on "
                + (
                    "(give --material or --not-material)."
                    if "material" in prompt
                    else "(set CONSENTDESK_USER / CONSENTDESK_PASSWORD)."
                )
            )
        if secret:
            return getpass.getpass(prompt)
        self.stderr.write(prompt)
        self.stderr.flush()
        return self.stdin.readline().rstrip("\n")

    def credentials(self) -> tuple[str, str]:
        user = self.environ.get("CONSENTDESK_USER") or self.ask("User: ")
        password = self.environ.get("CONSENTDESK_PASSWORD")
        if password is None:
            password = self.ask("Password: ", secret=True)
        return user, password

    def new_password(self, who: str) -> str:
        password = self.environ.get("CONSENTDESK_NEW_PASSWORD")
        if password is not None:
            return password
        first = self.ask(f"New password for {who}: ", secret=True)
        if self.ask("Repeat the password: ", secret=True) != first:
            raise InvalidInput("The two passwords differ.")
        return first

    def open(self) -> Desk:
        options = DeskOptions(upgrade_progress=UpgradeLines(self.stderr))
        code = self.environ.get("CONSENTDESK_RECOVERY_CODE")
        if code:
            return self._say_read_only(Desk.unlock_with_recovery(self.home, code, options=options))
        user, password = self.credentials()
        self.signed_in_password = password
        return self._say_read_only(Desk.unlock(self.home, user, password, options=options))

    def _say_read_only(self, desk: Desk) -> Desk:
        """issue-11: a sign-in on a full disk works read-only; the operator is told at once."""
        if desk.read_only:
            print(f"consentdesk: {READ_ONLY_NOTICE}", file=self.stderr)
        return desk


# A command runs with the context alone (init, restore, bench: no open vault yet or none needed)
# or with a desk unlocked for it and locked again afterwards, whatever happens.
Command = Callable[[Context], int]
DeskCommand = Callable[[Context, Desk], int]
SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def with_desk(fn: DeskCommand) -> Command:
    """Unlock the vault for ``fn`` and lock it again afterwards, even when ``fn`` fails."""

    def run(ctx: Context) -> int:
        desk = ctx.open()
        try:
            return fn(ctx, desk)
        finally:
            desk.lock()

    return run


def add_global_options(parser: argparse.ArgumentParser, *, after_command: bool) -> None:
    """``--home`` and ``--json``, accepted before the command and after any (sub)command name.

    argparse copies a subcommand's defaults over what the main parser already parsed, so
    ``consentdesk --json stats`` would lose ``--json`` if the subcommand had a default of its
    own. After the command the options therefore default to "not given" (SUPPRESS); only the
    main parser sets the real defaults.
    """
    parser.add_argument(
        "--home",
        default=argparse.SUPPRESS if after_command else None,
        help="vault folder (default: $CONSENTDESK_HOME or the user data dir)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if after_command else False,
        help="print JSON for scripts",
    )


class Commands:
    """Adds (sub)commands that all take the global options; each runs one typed function."""

    def __init__(self, sub: SubParsers, common: argparse.ArgumentParser) -> None:
        self._sub = sub
        self._common = common

    def parser(self, name: str, help: str | None = None) -> argparse.ArgumentParser:
        """A parser for ``name`` with the global options; ``help`` lists it in ``--help``."""
        # argparse lists a subcommand in its parent's help only when ``help`` is passed at all.
        if help is None:
            return self._sub.add_parser(name, parents=[self._common])
        return self._sub.add_parser(name, parents=[self._common], help=help)

    def add(self, name: str, fn: Command, help: str | None = None) -> argparse.ArgumentParser:
        p = self.parser(name, help)
        p.set_defaults(fn=fn)
        return p

    def add_with_desk(
        self, name: str, fn: DeskCommand, help: str | None = None
    ) -> argparse.ArgumentParser:
        return self.add(name, with_desk(fn), help)

    def raw(self) -> tuple[SubParsers, argparse.ArgumentParser]:
        """The subparsers and the global-options parent, for a command group that builds its
        parsers itself (the governance, device and certificate commands)."""
        return self._sub, self._common

    def group(self, parser: argparse.ArgumentParser, dest: str) -> Commands:
        """Nested subcommands of ``parser`` (``user add``, ``audit verify`` ...), one required."""
        return Commands(parser.add_subparsers(dest=dest, required=True), self._common)
