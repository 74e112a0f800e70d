"""File names as the system gives them: bytes on Linux, any of which may not be UTF-8.

Python hands such names over as text with surrogate escapes (``os.fsdecode``). They are kept
losslessly (``for_storage``/``from_storage``: the raw bytes when the text is not plain UTF-8)
and shown safely (``shown``: undecodable bytes as ``\\xNN``, control characters escaped), so one
odd name never stops the rest of a batch, breaks a line of output or makes JSON invalid.
"""

from __future__ import annotations

import os
import re
from pathlib import PurePath

#: C0 and C1 control characters, DEL, and the Unicode line and paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def is_plain_text(name: str) -> bool:
    """True when ``name`` encodes as UTF-8 as it is (no undecodable bytes from the system)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def for_storage(name: str | PurePath) -> str | bytes:
    """The value to store for a file name: the text, or the system's raw bytes when the text
    holds undecodable bytes (those cannot be written as text)."""
    text = str(name)
    return text if is_plain_text(text) else os.fsencode(text)


def from_storage(value: str | bytes | None) -> str:
    """The file name back as the system's text form (``os.fsdecode``), whatever was stored."""
    if value is None:
        return ""
    return os.fsdecode(value) if isinstance(value, bytes) else value


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    named = _NAMED.get(char)
    if named:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(name: str | PurePath | bytes) -> str:
    """``name`` as printable UTF-8 text on one line: undecodable bytes as ``\\xNN``, control
    characters (newline, escape, ...) escaped. For display only; never to open the file."""
    raw = name if isinstance(name, bytes) else os.fsencode(str(name))
    text = raw.decode("utf-8", errors="backslashreplace")
    return _CONTROL.sub(_escape, text)
