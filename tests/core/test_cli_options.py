"""Global options (``--home``, ``--json``) before or after the command, and the CLI's shape.

Scripts write ``consentdesk --json stats`` as often as ``consentdesk stats --json``; both must
mean the same, and ``--home`` given before the command must never be dropped in favour of
``$CONSENTDESK_HOME`` (that would act on another vault).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from app.cli import build_parser, main
from app.desk import Desk, DeskOptions
from tests.core.test_cli import run
from tests.core.vaultkit import FAST_KDF

PASSWORD = "options password 1"


def _vault(home: Path, org: str, with_purpose: bool) -> None:
    # A cheap KDF keeps the many unlocks below fast; the CLI reads it from the keyslot.
    desk, _code = Desk.initialise(home, org, "admin", PASSWORD, options=DeskOptions(kdf=FAST_KDF))
    try:
        if with_purpose:
            desk.add_purpose(
                title="Entry", controller=org, contact="dpo@env.example",
                retention_days=30, alternative="Badge",
            )  # fmt: skip
    finally:
        desk.lock()


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two vaults: ``env_home`` is what $CONSENTDESK_HOME names, ``flag_home`` only --home.

    Only the env vault has a purpose, so ``purposes`` in ``stats`` tells them apart.
    """
    base = tmp_path_factory.mktemp("options")
    env_home, flag_home = base / "env-vault", base / "flag-vault"
    _vault(env_home, "Env Org", with_purpose=True)
    _vault(flag_home, "Flag Org", with_purpose=False)
    return env_home, flag_home


@pytest.fixture
def cli(
    homes: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    """``consentdesk ARGS`` in this process with $CONSENTDESK_HOME set to the env vault."""
    monkeypatch.setenv("CONSENTDESK_HOME", str(homes[0]))
    monkeypatch.setenv("CONSENTDESK_USER", "admin")
    monkeypatch.setenv("CONSENTDESK_PASSWORD", PASSWORD)
    monkeypatch.delenv("CONSENTDESK_RECOVERY_CODE", raising=False)

    def call(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return call


@pytest.mark.parametrize(
    "placement",
    [
        ("--json", "--home", "{home}", "stats"),
        ("stats", "--json", "--home", "{home}"),
        ("--home", "{home}", "stats", "--json"),
        ("--json", "stats", "--home", "{home}"),
    ],
)
def test_global_options_before_or_after_the_command(
    homes: tuple[Path, Path], cli: Callable[..., tuple[int, str, str]], placement: tuple[str, ...]
) -> None:
    _env_home, flag_home = homes
    code, out, err = cli(*(a.format(home=flag_home) for a in placement))
    assert code == 0, err
    stats = json.loads(out)  # JSON, not the text form, whichever side --json is on
    assert stats["purposes"] == 0 and stats["staff"] == 1  # the --home vault, not the env one
    code, out, _ = cli("stats", "--json")
    assert json.loads(out)["purposes"] == 1


def test_options_before_the_command_reach_nested_subcommands(
    homes: tuple[Path, Path], cli: Callable[..., tuple[int, str, str]]
) -> None:
    _env_home, flag_home = homes
    for args in (
        ("--json", "--home", str(flag_home), "purpose", "list"),
        ("purpose", "--home", str(flag_home), "list", "--json"),
        ("purpose", "--json", "list", "--home", str(flag_home)),
        ("purpose", "list", "--json", "--home", str(flag_home)),
    ):
        code, out, err = cli(*args)
        assert code == 0, err
        assert json.loads(out) == [], args  # the flag vault has no purpose
    code, out, _ = cli("--json", "purpose", "list")
    assert [p["title"] for p in json.loads(out)] == ["Entry"]
    code, out, err = cli("--json", "--home", str(flag_home), "audit", "verify")
    assert code == 0 and json.loads(out)["ok"] is True, err


def test_text_output_without_json(
    homes: tuple[Path, Path], cli: Callable[..., tuple[int, str, str]]
) -> None:
    code, out, err = cli("--home", str(homes[1]), "stats")
    assert code == 0, err
    assert out.startswith("people: 0\n") and "{" not in out and "\npurposes: 0\n" in out


def test_init_with_options_before_the_command_as_a_script_would(tmp_path: Path) -> None:
    """End to end in a child process: the vault lands in --home, not in $CONSENTDESK_HOME."""
    env_home, flag_home = tmp_path / "env", tmp_path / "flag"
    proc = run(env_home, "--home", str(flag_home), "--json", "init", "--org", "O", "--admin", "a")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["home"] == str(flag_home)
    assert (flag_home / "vault.db").is_file() and not env_home.exists()


def _leaf_parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [(path, parser)]
    leaves = []
    for name, child in subs[0].choices.items():
        leaves += _leaf_parsers(child, (*path, name))
    return leaves


def test_every_command_takes_the_global_options_and_keeps_earlier_ones() -> None:
    parser = build_parser()
    leaves = _leaf_parsers(parser)
    names = {" ".join(path) for path, _ in leaves}
    assert {"init", "stats", "user add", "purpose edit", "audit verify", "policy"} <= names
    for path, leaf in leaves:
        flags = {s for a in leaf._actions for s in a.option_strings}
        assert {"--home", "--json"} <= flags, path
        # Defaults after the command are "not given", so they cannot overwrite what the main
        # parser read before the command.
        for action in leaf._actions:
            if {"--home", "--json"} & set(action.option_strings):
                assert action.default is argparse.SUPPRESS, (path, action.option_strings)
    args = parser.parse_args(["--json", "--home", "/somewhere", "user", "list"])
    assert args.json is True and args.home == "/somewhere" and args.user_cmd == "list"
    args = parser.parse_args(["user", "list", "--home", "/elsewhere"])
    assert args.json is False and args.home == "/elsewhere"
    args = parser.parse_args(["--home", "/first", "stats", "--home", "/second"])
    assert args.home == "/second"  # the later one wins, as for any repeated option


def test_no_command_without_the_launcher_is_a_usage_error(tmp_path: Path) -> None:
    proc = run(tmp_path / "never", "--home", str(tmp_path / "never"))
    assert proc.returncode == 2
    assert "no command given" in proc.stderr and "python -m ui" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "never").exists()
