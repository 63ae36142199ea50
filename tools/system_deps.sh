#!/usr/bin/env bash
# System tools the tests use that pip cannot install: poppler's pdftotext, pdftoppm, pdffonts
# and pdfsig (Debian/Ubuntu package poppler-utils), and NSS's certutil (libnss3-tools), which the
# trust tests use to give pdfsig a database holding only the organisation root. They check the
# PDFs the way a viewer and an independent signature validator would. `make test` calls this
# first, as `make run` calls qt_system_libs.sh: where a tool is missing and we are root with
# apt-get, it installs the package; otherwise it prints one line saying how, and those tests skip
# with that reason (under CI=true they fail instead). It never fails the build itself.
set -u
missing=""
packages=""
for pair in pdftotext:poppler-utils pdftoppm:poppler-utils pdffonts:poppler-utils \
    pdfsig:poppler-utils certutil:libnss3-tools; do
    tool="${pair%%:*}"
    package="${pair#*:}"
    if ! command -v "$tool" >/dev/null 2>&1; then
        missing="$missing $tool"
        case " $packages " in *" $package "*) ;; *) packages="$packages $package" ;; esac
    fi
done
[ -z "$missing" ] && exit 0
packages="${packages# }"
if [ "$(uname -s)" = "Linux" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing $packages for the PDF tests (missing:$missing)"
    # shellcheck disable=SC2086  # one word per package
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
elif [ "$(uname -s)" = "Darwin" ]; then
    echo "The PDF tests need poppler and nss (missing:$missing): brew install poppler nss; until then they skip." >&2
else
    echo "The PDF tests need $packages (missing:$missing): sudo apt-get install $packages; until then they skip." >&2
fi
exit 0
