"""Tests of the standalone bundle and of ``consentdesk --self-test``.

``test_selftest.py`` is fast and runs with ``make test``; ``test_package.py`` builds the
bundle (minutes) and is marked ``slow``: ``make package-test`` runs it.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
