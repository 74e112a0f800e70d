"""Subcommands of the ``maxupload`` command line, one module each (see ``maxupload.cli``)."""
