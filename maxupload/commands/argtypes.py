"""Argument types that refuse bad values while parsing, with the option's name and the rule.

argparse turns the ``ArgumentTypeError`` into ``maxupload COMMAND: error: ...`` and exit code 2,
before anything is read, sent or stored.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from maxupload.core.config.settings import id_problem

#: The largest item number SQLite can hold.
MAX_ITEM_ID = 2**63 - 1


def int_in(low: int, high: int, what: str) -> Callable[[str], int]:
    """An integer from ``low`` to ``high`` inclusive."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} must be between {low} and {high}")
        return value

    parse.__name__ = what  # argparse names the type in some messages
    return parse


def api_id(what: str) -> Callable[[str], str]:
    """An id as the API writes them (``nte_...``, ``prv_...``, ``org_...``): letters, digits,
    ``_ . : -``, at most 200 characters; never key-shaped."""

    def parse(text: str) -> str:
        problem = id_problem(text, what)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return text.strip()

    parse.__name__ = what
    return parse


item_id = int_in(1, MAX_ITEM_ID, "the queue item number")
port = int_in(0, 65535, "the port")
workers = int_in(1, 4, "--workers")
