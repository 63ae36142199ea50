"""Governance records kept in the same vault as the consents (issue 16).

Regulators ask for more than a consent screen: a necessity and proportionality test before face
recognition is used (PIPL Art. 55-56, GDPR Art. 35), an impact assessment, records of
processing (GDPR Art. 30), filing once more than 100,000 people's face data is stored (CAC
2025 measures), a register of requests and complaints with statutory deadlines, and breach
records with notification letters (PIPL Art. 57, GDPR Art. 33-34). Keeping them here means the
paperwork is computed from the same rows that hold the data, so the counts a regulator reads are
the counts the vault actually holds.

The package is Qt-free like the rest of ``app``; ``Compliance`` (in :mod:`.service`) is the one
entry point the CLI and the UI use.
"""
