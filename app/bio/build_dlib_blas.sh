#!/usr/bin/env bash
# Opt-in: build dlib from source against OpenBLAS, for a faster face encoder.
#
# Why: the default install uses the prebuilt `dlib-bin` wheel, which is compiled WITHOUT a
# BLAS, so dlib's ResNet falls back to its own generic matrix code (~75-80 ms per face on a
# 2-core desk PC). Linking OpenBLAS makes the encoder's convolutions use an optimised GEMM.
# `consentdesk bench` reports `dlib_blas` and `encode_ms_per_face` to compare.
#
# Measured on the 2-core dev box (obama_1.jpg, one face): dlib-bin 77 ms best / 108 ms median
# under load; this build 16 ms best, 30 ms median with OPENBLAS_NUM_THREADS=1 (61 ms median
# with OpenBLAS's default threads fighting other processes for the 2 cores -- so run the desk
# with OPENBLAS_NUM_THREADS=1). Templates are identical (max difference 2e-7).
#
# Trade-off seen in that build: HOG detection was ~2x SLOWER than dlib-bin's (same AVX
# setting; 44 vs 20 ms best on a 570x455 image), so the live camera got slower (34 vs 60 fps
# detection, still above camera rate) while photo import/enrollment got faster (bench
# photo_ms_ours 134 vs 221 ms). Worth it when enrollment/import speed matters most.
#
# Caveat: dlib-bin and this dlib install the same `dlib` module. A later `make install` that
# reinstalls dlib-bin (pyproject.toml lists it) silently puts the non-BLAS one back: re-run
# `make dlib-blas` afterwards, and check `consentdesk bench` (`dlib_blas: true`).
#
# NOT run by `make install`: it needs a compiler, cmake and OpenBLAS headers, takes 10-30
# minutes of CPU, and swaps the dlib module under a working installation. Templates do not
# change meaning (same model), but re-run the tests after switching.
#
# Usage:  VENV=.venv bash app/bio/build_dlib_blas.sh         (default VENV=.venv)
#         JOBS=1 nice -n 19 bash app/bio/build_dlib_blas.sh   (be gentle on a shared machine)
set -euo pipefail

VENV="${VENV:-.venv}"
DLIB_VERSION="${DLIB_VERSION:-20.0.1}"
PY="$VENV/bin/python"

if [ ! -x "$PY" ]; then
    echo "No virtualenv at $VENV (set VENV=...)" >&2
    exit 1
fi

# 1. Toolchain and OpenBLAS (Debian/Ubuntu). Elsewhere install the equivalents by hand.
if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get install -y --no-install-recommends \
        build-essential cmake pkg-config libopenblas-dev liblapack-dev
fi

# 2. Replace dlib-bin by a source build. dlib's CMake finds OpenBLAS by itself and then
#    compiles with DLIB_USE_BLAS (and LAPACK); the build log prints "Found OpenBLAS library".
"$PY" -m pip install -q --upgrade pip setuptools wheel cmake
"$PY" -m pip uninstall -y dlib-bin dlib || true
# dlib's setup.py builds with all cores unless told otherwise; JOBS limits it.
if [ -n "${JOBS:-}" ]; then export CMAKE_BUILD_PARALLEL_LEVEL="$JOBS"; fi
"$PY" -m pip install --no-binary dlib --no-cache-dir --no-build-isolation -v \
    "dlib==${DLIB_VERSION}" 2>&1 | grep -E "BLAS|LAPACK|Successfully|error" || true

# 3. Check.
"$PY" - <<'PYCHECK'
import dlib
print("dlib", dlib.__version__, "BLAS:", bool(getattr(dlib, "DLIB_USE_BLAS", False)))
PYCHECK
echo "Now run: consentdesk bench   (compare encode_ms_per_face)"
