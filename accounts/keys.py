"""API key shape, generation and digest. The one place that knows the format."""

import hashlib
import re
import secrets
import string

API_KEY_LENGTH = 32
API_KEY_ALPHABET = string.ascii_letters + string.digits
_KEY_RE = re.compile(r"[A-Za-z0-9]{32}")


def generate_api_key() -> str:
    return "".join(secrets.choice(API_KEY_ALPHABET) for _ in range(API_KEY_LENGTH))


def is_well_formed(raw: object) -> bool:
    return isinstance(raw, str) and _KEY_RE.fullmatch(raw) is not None


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("ascii")).hexdigest()
