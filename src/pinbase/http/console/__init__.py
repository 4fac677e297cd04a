"""The web console (issue #9): server-rendered pages under ``/dashboard``, signed in by cookie.

Rule: like every HTTP adapter, pages parse, call one service, render; what a user may see or do
is decided by ``services.console_caller.ConsoleCaller``. Templates in ``templates/``, files in
``static/`` (no build step, nothing from another host).
"""
