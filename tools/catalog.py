"""Edit the translation catalog (resources/locale/*/LC_MESSAGES/consentdesk.po) from a shell.

Why a tool: the two ``.po`` files must keep the same keys in the same order, and a string added
by hand to one of them only is the most common slip. Translators may equally use any gettext
editor (Poedit, Lokalize, Weblate in "monolingual" mode with the English file as the base);
this tool writes the same format back, so both ways mix.

    python tools/catalog.py set KEY "English text" "中文"   # add or change one entry
    python tools/catalog.py remove KEY                       # drop an entry from both files
    python tools/catalog.py fmt                              # rewrite both files canonically
    python tools/catalog.py absorb OLD.py [--prefix pdf.]    # take in an old (en, zh) dict

``absorb`` is for merging a branch that still added strings to the former tables (the
``STRINGS`` dict of ui/i18n.py, ``LABELS`` of app/documents/labels.py: pass ``--prefix pdf.``):
keys the catalog lacks are added, keys whose text differs are listed for a human to decide.

A new key is placed after the last key sharing its first dotted part (``wd.`` after ``wd.``),
so related strings stay together for the translator.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.i18n import DOMAIN, LOCALES, Message, parse_po  # noqa: E402

_NAMES = {"en": "English", "zh_CN": "Simplified Chinese"}


def po_path(locale: str) -> Path:
    return ROOT / "resources" / "locale" / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def _quote(text: str) -> str:
    """A msgstr value in gettext's style: one line when short, else one line per ``\\n``."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
    pieces = escaped.split("\n")
    lines = [p + ("\\n" if i < len(pieces) - 1 else "") for i, p in enumerate(pieces)]
    lines = [line for line in lines if line]
    if len(lines) <= 1 and len(escaped) < 70:
        return f'"{lines[0] if lines else ""}"'
    out = ['""']
    for line in lines:
        while len(line) > 76:
            cut = line.rfind(" ", 0, 76) + 1 or 76
            while (
                line[:cut].endswith("\\") and (len(line[:cut]) - len(line[:cut].rstrip("\\"))) % 2
            ):
                cut -= 1  # never split an escape sequence
            out.append(f'"{line[:cut]}"')
            line = line[cut:]
        if line:
            out.append(f'"{line}"')
    return "\n".join(out)


def render(locale: str, messages: dict[str, Message]) -> str:
    lines = [
        f"# ConsentDesk: every string on screen, on printed documents and in core errors "
        f"({_NAMES.get(locale, locale)}).",
        "# msgids are symbolic keys (what code passes to I18n.tr, label() and error codes);",
        "# the English catalog is the source text. app/i18n.py reads this file directly.",
        "# Edit with any gettext editor or with tools/catalog.py.",
        'msgid ""',
        'msgstr ""',
        '"Project-Id-Version: ConsentDesk\\n"',
        f'"Language: {locale}\\n"',
        '"MIME-Version: 1.0\\n"',
        '"Content-Type: text/plain; charset=UTF-8\\n"',
        '"Content-Transfer-Encoding: 8bit\\n"',
        "",
    ]
    for key, message in messages.items():
        flags = (["fuzzy"] if message.fuzzy else []) + (
            ["python-brace-format"] if "{" in message.text else []
        )
        if flags:
            lines.append("#, " + ", ".join(flags))
        lines += [f"msgid {_quote(key)}", f"msgstr {_quote(message.text)}", ""]
    return "\n".join(lines)


def load() -> dict[str, dict[str, Message]]:
    return {loc: parse_po(po_path(loc).read_text("utf-8")) for loc in LOCALES.values()}


def save(catalogs: dict[str, dict[str, Message]]) -> None:
    for locale, messages in catalogs.items():
        po_path(locale).write_text(render(locale, messages), encoding="utf-8")


def _insert(messages: dict[str, Message], key: str, message: Message) -> dict[str, Message]:
    if key in messages:
        return {k: (message if k == key else m) for k, m in messages.items()}
    group = key.split(".")[0] + "."
    anchor = next((k for k in reversed(messages) if k.startswith(group)), None)
    out: dict[str, Message] = {}
    for k, m in messages.items():
        out[k] = m
        if k == anchor:
            out[key] = message
    out.setdefault(key, message)
    return out


def _pairs_in(path: Path) -> dict[str, tuple[str, str]]:
    """Every ``"key": ("English", "中文")`` of the module-level dict literals in a Python file."""
    import ast

    out: dict[str, tuple[str, str]] = {}
    for node in ast.parse(path.read_text("utf-8")).body:
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if not isinstance(value, ast.Dict):
            continue
        for key, pair in zip(value.keys, value.values, strict=True):
            if isinstance(key, ast.Constant) and isinstance(pair, ast.Tuple):
                texts = [ast.literal_eval(p) for p in pair.elts]
                if len(texts) == 2 and all(isinstance(t, str) for t in texts):
                    out[str(key.value)] = (texts[0], texts[1])
    return out


def absorb(catalogs: dict[str, dict[str, Message]], path: Path, prefix: str) -> list[str]:
    """Add the pairs of ``path`` the catalog lacks; return the keys whose texts differ."""
    differing = []
    en_locale, zh_locale = LOCALES["en"], LOCALES["zh"]
    for key, (en, zh) in _pairs_in(path).items():
        full = prefix + key
        known = catalogs[en_locale].get(full)
        if known is None:
            catalogs[en_locale] = _insert(catalogs[en_locale], full, Message(full, en, False, 0))
            catalogs[zh_locale] = _insert(catalogs[zh_locale], full, Message(full, zh, False, 0))
        elif known.text != en or catalogs[zh_locale][full].text != zh:
            differing.append(full)
    return differing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    put = sub.add_parser("set")
    put.add_argument("key")
    put.add_argument("en")
    put.add_argument("zh")
    rm = sub.add_parser("remove")
    rm.add_argument("key")
    sub.add_parser("fmt")
    take = sub.add_parser("absorb")
    take.add_argument("path", type=Path)
    take.add_argument("--prefix", default="")
    args = parser.parse_args(argv)
    catalogs = load()
    if args.command == "set":
        for language, locale in LOCALES.items():
            text = args.en if language == "en" else args.zh
            catalogs[locale] = _insert(
                catalogs[locale], args.key, Message(args.key, text, False, 0)
            )
    elif args.command == "remove":
        for messages in catalogs.values():
            messages.pop(args.key, None)
    elif args.command == "absorb":
        for key in absorb(catalogs, args.path, args.prefix):
            print(f"differs, left as in the catalog: {key}")
    save(catalogs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
