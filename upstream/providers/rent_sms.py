"""What every rent client does with an SMS: an id where the upstream gives none, the code in it."""

from __future__ import annotations

import hashlib
import re

_CODE = re.compile(r"(?<![0-9])([0-9]{3,4}[- ]?[0-9]{2,4})(?![0-9])")


def sms_digest(date: str, sender: str, text: str) -> str:
    """The id of an SMS the upstream gives none for: stable across reads and pages."""
    return hashlib.sha256(f"{date}\x1f{sender}\x1f{text}".encode()).hexdigest()[:24]


def code_in(text: str) -> str | None:
    """The code in an SMS: the text itself when it is 3-10 digits, else its first 5-8 digit group
    (`123-456` -> `123456`); None when there is none."""
    stripped = text.strip()
    if stripped.isascii() and stripped.isdigit() and 3 <= len(stripped) <= 10:
        return stripped
    match = _CODE.search(text)
    return re.sub(r"[- ]", "", match.group(1)) if match else None
