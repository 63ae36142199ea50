"""ConsentDesk's Qt workstation UI. It talks to the core only through ``app.desk.Desk``.

Map of the package (each module's docstring says why it is shaped the way it is):

* ``launcher`` – the ``consentdesk`` program: no command opens the window (``main``), any
  other arguments run the CLI (``app.cli``) without loading Qt.
* ``main`` – ``main(argv, home)``, what the launcher calls with no subcommand.
* ``app_window`` – unlock screen or signed-in workspace; lock drops the whole workspace.
* ``context`` – the dependencies handed to every screen (translations, runner, prompts,
  camera factory, the one shared face engine). No singletons.
* ``worker`` – the one background helper (QThreadPool + QRunnable + signals).
* ``camera`` – the camera QThread that owns the frame source and emits frames + analyses.
* ``signature_pad`` – mouse, pen and touch signatures as strokes.
* ``document_view`` – PDF preview (poppler, no temp files), save and print.
* ``i18n`` – the English / Simplified Chinese table and live language switching.
* ``theme`` – large type, the bundled CJK font, equal-weight decision buttons.
* ``autolock`` – inactivity lock via an application-wide event filter.
* ``dialogs`` – modal questions behind one replaceable object (scripted in tests).
* ``screens`` – unlock, the enrollment wizard pages, registry, withdrawal desk, settings.
"""
