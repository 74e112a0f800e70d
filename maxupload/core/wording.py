"""One next step, two audiences: plain words for the window, the command for the terminal.

The queue file and the errors keep the terminal's wording ("… choose 'Retry' (maxupload queue
retry 7)."), so the command line prints what it always printed. ``split_hint`` takes such a
text apart once: the words a person reads in the window, and the command line that belongs
to the terminal only. ``join_hint`` puts them back together.
"""

from __future__ import annotations

import re

#: A command line in parentheses: "(maxupload queue retry 7)", "(or run 'maxupload key set')".
_IN_PARENS = re.compile(r"\s*\((?:or )?(?:run )?'?(maxupload [^)']*)'?\)")
#: A command given as an alternative: ", or run 'maxupload queue resume'".
_OR_RUN = re.compile(r",?\s*or run '(maxupload [^']*)'")
#: A sentence that is only about a command: "Run 'maxupload queue' to see the items."
_RUN_SENTENCE = re.compile(r"\s*Run '(maxupload [^']*)'[^.]*\.")


def split_hint(text: str) -> tuple[str, str]:
    """``(plain words, command line)`` of a next step; the command is "" when there is none."""
    hints: list[str] = []

    def keep(match: re.Match[str]) -> str:
        hints.append(match.group(1).strip())
        return ""

    plain = text
    for pattern in (_IN_PARENS, _OR_RUN, _RUN_SENTENCE):
        plain = pattern.sub(keep, plain)
    plain = re.sub(r"\s+([.,;:])", r"\1", plain).strip()
    return plain, "; ".join(hints)


def join_hint(step: str, hint: str) -> str:
    """The terminal's wording: the step with its command in parentheses before the full stop."""
    if not hint:
        return step
    body = step.rstrip()
    end = "." if body.endswith(".") else ""
    body = body[:-1] if end else body
    return f"{body} ({hint}){end}" if body else hint


def without_echo(text: str, detail: str) -> str:
    """``text`` followed by `` (detail)``, unless ``text`` already says it ("EHR sync failed:
    … (EHR sync failed)" reads as a stutter)."""
    detail = detail.strip().rstrip(".")
    if not detail or detail.lower() in text.lower():
        return text
    return f"{text} ({detail})"
