# The README's two commands are `make run` and `make test`; both set up everything they need.
# The newest working Python 3.11-3.13 (tools/find_python.sh says why not simply python3.13).
PY ?= $(shell bash tools/find_python.sh)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TESTDATA ?= $(CURDIR)/../shared/testdata

.PHONY: install run test test-core test-ui lint bench soak screenshots package package-test dlib-blas clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@test -n "$(PY)" || { echo "Python 3.11, 3.12 or 3.13 is required"; exit 1; }
	@# A venv made by another Python (e.g. before a newer one was found) is rebuilt.
	@if [ -x $(BIN)/python ] && [ "$$($(BIN)/python -c 'import sys; print(sys.version_info[:2])')" != "$$($(PY) -c 'import sys; print(sys.version_info[:2])')" ]; then \
		echo "rebuilding $(VENV) for $(PY)"; rm -rf $(VENV); fi
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	# face_recognition's metadata requires "dlib" (a source build); dlib-bin provides the module.
	$(BIN)/python -m pip install -q --no-deps 'face_recognition==1.3.0'
	touch $(STAMP)

run: install
	@bash tools/qt_system_libs.sh $(BIN)/python
	$(BIN)/consentdesk

lint: install
	$(BIN)/ruff check app ui tests installer tools
	$(BIN)/ruff format --check app ui tests installer tools
	$(BIN)/mypy
	$(BIN)/lint-imports

# tools/system_deps.sh installs poppler-utils (pdftotext, pdftoppm, pdffonts, pdfsig) and
# libnss3-tools (certutil, for the pdfsig trust tests) for the PDF
# tests when it can, as `make run` does for Qt's libraries; otherwise those tests skip with a reason.
test: install lint
	@bash tools/system_deps.sh
	QT_QPA_PLATFORM=offscreen CONSENTDESK_TESTDATA=$${CONSENTDESK_TESTDATA:-$(TESTDATA)} $(BIN)/python -m pytest -m "not slow"

test-core: install
	@bash tools/system_deps.sh
	CONSENTDESK_TESTDATA=$${CONSENTDESK_TESTDATA:-$(TESTDATA)} $(BIN)/python -m pytest tests/core

test-ui: install
	QT_QPA_PLATFORM=offscreen CONSENTDESK_TESTDATA=$${CONSENTDESK_TESTDATA:-$(TESTDATA)} $(BIN)/python -m pytest tests/ui

screenshots: install
	QT_QPA_PLATFORM=offscreen $(BIN)/python tools/screenshots.py screenshots

bench: install
	CONSENTDESK_TESTDATA=$${CONSENTDESK_TESTDATA:-$(TESTDATA)} $(BIN)/consentdesk bench

# Five minutes of the live capture page on the shared video: no crash, flat memory (figures printed).
soak: install
	QT_QPA_PLATFORM=offscreen CONSENTDESK_TESTDATA=$${CONSENTDESK_TESTDATA:-$(TESTDATA)} $(BIN)/python -m pytest -m slow -s tests/ui/test_soak.py

# Opt-in, never run by install/test: replaces dlib-bin with dlib built against OpenBLAS.
dlib-blas: install
	VENV=$(VENV) bash app/bio/build_dlib_blas.sh

# Standalone bundle for this platform (installer/README.md); PyInstaller comes from the
# optional "package" dependency group.
PACKAGE_STAMP := $(VENV)/.package-installed

$(PACKAGE_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install -q -e '.[package]'
	touch $(PACKAGE_STAMP)

package: $(PACKAGE_STAMP)
	$(BIN)/python installer/build.py

# Builds the bundle and tarball into a temporary folder and runs the bundle's self-test there.
package-test: $(PACKAGE_STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -m slow tests/installer

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache
