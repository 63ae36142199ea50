#!/usr/bin/env bash
# System tools the tests use that pip cannot install: poppler's pdftotext, pdftoppm, pdffonts
# and pdfsig (Debian/Ubuntu package poppler-utils). They check the PDFs the way a viewer and an
# independent signature validator would. `make test` calls this first, as `make run` calls
# qt_system_libs.sh: where a tool is missing and we are root with apt-get, it installs the
# package; otherwise it prints one line saying how, and those tests skip with that reason
# (under CI=true they fail instead). It never fails the build itself.
set -u
tools="pdftotext pdftoppm pdffonts pdfsig"
missing=""
for tool in $tools; do
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
[ -z "$missing" ] && exit 0
if [ "$(uname -s)" = "Linux" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing poppler-utils for the PDF tests (missing:$missing)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null
elif [ "$(uname -s)" = "Darwin" ]; then
    echo "The PDF tests need poppler (missing:$missing): brew install poppler; until then they skip." >&2
else
    echo "The PDF tests need poppler-utils (missing:$missing): sudo apt-get install poppler-utils; until then they skip." >&2
fi
exit 0
