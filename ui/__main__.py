"""``python -m ui`` behaves exactly like the ``consentdesk`` program (``ui.launcher``)."""

from ui.launcher import main

raise SystemExit(main())
