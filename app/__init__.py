"""ConsentDesk core: the encrypted vault, consent records, biometrics and documents.

Nothing in this package imports Qt; the UI in ``ui/`` talks to it only through
:class:`app.desk.Desk`.
"""

__version__ = "0.1.0"
