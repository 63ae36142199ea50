"""The frozen application's entry point: exactly ``consentdesk`` (``app.cli.main``).

No arguments start the workstation UI; ``--self-test`` checks the installation; every admin
command works the same as from source. PyInstaller analyses this file, so it must import the
CLI statically.
"""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
