"""The frozen application's entry point: exactly ``consentdesk`` (``ui.launcher.main``).

No arguments start the workstation UI; ``--self-test`` checks the installation; every admin
command works the same as from source. PyInstaller analyses this file, so it must import the
launcher statically; the launcher imports the UI with a plain (function-level) import, which
PyInstaller's analysis follows too.
"""

import sys

from ui.launcher import main

if __name__ == "__main__":
    sys.exit(main())
