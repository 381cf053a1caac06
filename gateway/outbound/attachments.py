"""Copy the attachments of a stored mail onto one we send (the customer's files to agents, and back)."""

from __future__ import annotations

import email
from dataclasses import dataclass
from email.policy import default


@dataclass(frozen=True)
class FileAttachment:
    filename: str
    content_type: str
    data: bytes


def attachments_of(raw: bytes) -> list[FileAttachment]:
    """Parts sent as files (a filename or disposition attachment); inline images of a quote stay behind."""
    mime = email.message_from_bytes(raw, policy=default)
    found: list[FileAttachment] = []
    for part in mime.walk():
        if part.is_multipart() or part.get_content_disposition() != "attachment" and not part.get_filename():
            continue
        if part.get_content_disposition() == "inline" and part.get_content_maintype() == "image":
            continue
        try:
            data = part.get_payload(decode=True) or b""
        except Exception:  # A part that cannot be decoded is not worth failing a relay for.
            continue
        found.append(FileAttachment(part.get_filename() or "attachment", part.get_content_type(), data))
    return found
