"""``python -m app``: the command line without the workstation window.

The core never imports the UI, so here a missing command is a usage error; ``python -m ui``
and the ``consentdesk`` program (``ui.launcher``) also open the window when no command is given.
"""

from app.cli import main

raise SystemExit(main())
