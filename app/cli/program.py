"""The parser and :func:`main`: parse, run one command, turn errors into one line and a code.

The workstation window is not started from here: the core never imports the UI. The
``consentdesk`` launcher (``ui.launcher``) passes ``start_ui``; without it (``python -m app``)
a missing command is a usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from app.cli import (
    admin_cmds,
    certificate_cmds,
    compliance_cmds,
    devices_cmds,
    documents_cmds,
    face_cmds,
    people_cmds,
    vault_cmds,
)
from app.cli.context import Command, Commands, Context, SubParsers, add_global_options
from app.cli.output import escape_text, shown
from app.errors import ConsentDeskError

# ``start_ui(argv, home)``: run the workstation window on the vault in ``home``, return its code.
UiStarter = Callable[[Sequence[str], Path], int]


class CliParser(argparse.ArgumentParser):
    """argparse, with a usage error as one line (issue-11: bad input is one clear line); the
    subcommand parsers are of this class too (argparse makes them like their parent)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {escape_text(message)} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """Every command, in the order ``--help`` lists them."""
    common = CliParser(add_help=False)
    add_global_options(common, after_command=True)
    parser = CliParser(
        prog="consentdesk",
        description="ConsentDesk: consent-first face enrollment. No command starts the workstation UI.",
    )
    add_global_options(parser, after_command=False)
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check that this installation works (temporary vault, models, PDF, Qt) and exit",
    )
    sub: SubParsers = parser.add_subparsers(  # type: ignore[assignment]
        dest="command", metavar="COMMAND", parser_class=CliParser
    )
    commands = Commands(sub, common)
    vault_cmds.register_setup(commands)
    admin_cmds.register(commands)
    vault_cmds.register_care(commands)
    people_cmds.register(commands)
    face_cmds.register(commands)
    documents_cmds.register(commands)
    certificate_cmds.register(commands)  # issue-15
    compliance_cmds.register(commands)
    devices_cmds.register(commands)
    return parser


def main(argv: Sequence[str] | None = None, *, start_ui: UiStarter | None = None) -> int:
    """Run ``consentdesk ARGV``; with no command, ``start_ui`` opens the workstation window."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    environ = os.environ
    parser = build_parser()
    args = parser.parse_args(args_list)
    ctx = Context(args, environ, sys.stdout, sys.stderr, sys.stdin)
    try:
        if args.self_test:
            from app.selftest import run as self_test

            return self_test(sys.stdout, as_json=ctx.json)
        if args.command is None:
            if start_ui is None:
                parser.print_usage(sys.stderr)
                print(
                    "consentdesk: no command given; the workstation window starts from the "
                    "consentdesk launcher (python -m ui)",
                    file=sys.stderr,
                )
                return 2
            return int(start_ui(args_list, ctx.home))
        fn: Command = args.fn
        return int(fn(ctx))
    except ConsentDeskError as exc:
        print(f"consentdesk: {shown(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("consentdesk: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback for the operator; no data in the message
        if environ.get("CONSENTDESK_DEBUG"):
            raise
        print(
            f"consentdesk: unexpected {type(exc).__name__}; nothing further was changed. "
            "Run with CONSENTDESK_DEBUG=1 for details.",
            file=sys.stderr,
        )
        return 1
