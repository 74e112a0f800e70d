"""Read the one ``file`` part of a multipart/form-data body with the standard email parser."""

from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.parser import BytesParser


@dataclass(frozen=True)
class FilePart:
    file_name: str
    content_type: str
    data: bytes


class MultipartError(ValueError):
    """The body is not a usable multipart/form-data upload (message is shown to the client)."""


def parse_file_part(content_type: str, body: bytes, field: str = "file") -> FilePart:
    """The part named ``field``; raises MultipartError with a clear message otherwise."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise MultipartError(f"Request must be multipart/form-data with one part named '{field}'")
    if "boundary=" not in content_type:
        raise MultipartError("multipart/form-data boundary is missing")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise MultipartError("multipart/form-data body could not be read")
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") != field:
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        name = part.get_filename() or "upload"
        name = name.replace("\\", "/").rsplit("/", 1)[-1] or "upload"
        ctype = part.get("Content-Type")
        return FilePart(name, part.get_content_type() if ctype else "", data)
    raise MultipartError(f"'{field}' is required (multipart/form-data part named '{field}')")
