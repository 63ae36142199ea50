"""The ``consentdesk`` command line: subcommands administer the workstation's vault.

Command names, flags and ``--json`` shapes are promises to scripts: keep them stable. Errors are
one line on stderr and a non-zero exit code, never a traceback (set ``CONSENTDESK_DEBUG=1`` to
see one). Passwords come from a prompt, or from ``CONSENTDESK_USER`` / ``CONSENTDESK_PASSWORD``
(and ``CONSENTDESK_NEW_PASSWORD`` for a new or changed password) for scripting. The global
options ``--home`` and ``--json`` go before or after the command.

Layout: :mod:`app.cli.context` holds what every command shares (context, JSON output, the
command registry); one ``*_cmds`` module per command group registers its commands;
:mod:`app.cli.program` builds the parser and runs one command. Nothing else in ``app`` imports
this package (an import-linter contract says so), and it never imports the UI: the
``consentdesk`` program is ``ui.launcher``, which hands :func:`main` a way to open the window.
"""

from app.cli.program import UiStarter, build_parser, main

__all__ = ["UiStarter", "build_parser", "main"]
