"""The Qt-free core of MaxUpload; the command line and the window both stand on it.

Services at the top: ``uploads`` (the one upload path), ``engine`` (scheduler and the
per-photo step), ``outcomes`` (what each result means for the user), ``intake``. Parts below
them: ``history``, ``config``, ``checks``, ``queue``, ``imaging``, ``api``, ``system``;
``errors`` is the root of every error. Each imports only the parts below it (import-linter
contracts in ``pyproject.toml``); nothing under this package may import PySide6.
"""
