#!/usr/bin/env bash
# Prints the newest working Python interpreter between 3.11 and 3.13 (the versions the pinned
# wheels of dlib-bin, sqlcipher3 and PySide6 are tested with), or nothing.
#
# Why not just `python3.13`: a pyenv shim for 3.13 may exist on PATH and still fail to run (the
# version is installed but not selected), and the old Makefile then fell back to 3.11. Where
# pyenv is present, its installed versions are tried directly too. Newest first: on 3.12+ Python's
# singletons are immortal, so a Qt binding that drops references to None cannot crash the app.
set -u
candidates=()
for v in 3.13 3.12 3.11; do
    candidates+=("python$v")
    root="${PYENV_ROOT:-$HOME/.pyenv}"
    for p in "$root"/versions/"$v".*/bin/python"$v"; do
        [ -x "$p" ] && candidates+=("$p")
    done
done
candidates+=(python3)
for p in "${candidates[@]}"; do
    command -v "$p" >/dev/null 2>&1 || continue
    if "$p" -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] <= (3, 13)))' 2>/dev/null; then
        echo "$p"
        exit 0
    fi
done
exit 0
