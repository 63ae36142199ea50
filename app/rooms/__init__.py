"""The rooms of a ``Desk``: one manager per kind of record, each owning its tables' SQL.

Like Anki's ``Collection`` (``col.decks``, ``col.models``, ``col.conf``), ``app.desk.Desk`` is a
thin facade that builds these managers over one shared :class:`app.session.Session`. The
dependency order is fixed (no cycles): ``settings``, ``staff``, ``purposes`` → ``people`` →
``archive`` (stored documents) → ``faces`` → ``consents`` → ``retention``.
"""
