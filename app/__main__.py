"""``python -m app`` behaves exactly like the ``consentdesk`` console script."""

from app.cli import main

raise SystemExit(main())
