"""Masking API keys out of text that is logged: ours (customers' keys) and upstreams'.

Plain Python, no Django: gunicorn's master imports it before any app is loaded
(`reseller/gunicorn_logging.py`), and every layer may use it (upstream's HTTP
client re-exports it). `api_key=<value>` (and Get-SMS's `userkey=`) is masked as
`api_key=***` wherever it appears: a request line, a URL, a referer, an exception
message, a traceback; also when the name is percent-encoded (`api%5Fkey=`, which
Django decodes to `api_key`) or sent as a PHP array (`api_key[]=`). Nothing of
the key is kept (decisions.md: "Log masking").
"""

from __future__ import annotations

import logging
import re
from urllib.parse import quote_plus, unquote_plus

MASK = "***"
KEY_PARAMETERS = ("api_key", "userkey")
_MIN_SECRET_LEN = 6  # shorter "keys" (tests) are not scrubbed as bare substrings, only as api_key=...

# A value runs to the next parameter separator, fragment, whitespace or quote (a repr'd request line).
_VALUE = r"[^&#\s'\"]*"
_API_KEY_PARAM = re.compile(r"((?:api_key|userkey)(?:\[[^\]=&#\s'\"]*\])*=)" + _VALUE, re.IGNORECASE)
# Any parameter whose name holds a %XX escape: masked when the decoded name is a key parameter.
_ENCODED_PARAM = re.compile(r"([^?&;=\s'\"/]*%[0-9A-Fa-f]{2}[^?&;=\s'\"/]*=)(" + _VALUE + ")")


def scrub(text: str, secret: str) -> str:
    """`text` with every occurrence of `secret` (as is or URL-encoded) replaced by `***`."""
    if secret and len(secret) >= _MIN_SECRET_LEN:
        for form in {secret, quote_plus(secret)}:
            text = text.replace(form, MASK)
    return text


def _mask_encoded(match: re.Match) -> str:
    name = unquote_plus(match.group(1)[:-1]).partition("[")[0].strip().lower()
    return f"{match.group(1)}{MASK}" if name in KEY_PARAMETERS else match.group(0)


def redact(text: str, secret: str = "") -> str:
    """`text` with every `api_key=<value>` and every occurrence of `secret` replaced by `***`."""
    text = _API_KEY_PARAM.sub(r"\1" + MASK, text)
    if "%" in text:
        text = _ENCODED_PARAM.sub(_mask_encoded, text)
    return scrub(text, secret)


def _mentions_key(text: str) -> bool:
    lowered = text.lower()
    return "api" in lowered or "userkey" in lowered or "%" in lowered


class RedactApiKeyFilter(logging.Filter):
    """Rewrites a record's message (and its traceback) with every `api_key=...` masked.

    Installed on gunicorn's loggers, on Django's log handlers and on urllib3's loggers (which log
    full request URLs at DEBUG). Never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is not ours to break; drop its arguments
            message = str(record.msg)
        if _mentions_key(message):
            masked = redact(message)
            if masked != message:
                record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # Formatted here, once, so the traceback (exception messages hold URLs) is masked too;
            # the handler's formatter then reuses exc_text.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and _mentions_key(record.exc_text):
            record.exc_text = redact(record.exc_text)
        return True


def audit_mask(value: str) -> str:
    """The audit trail's mask for secrets (API keys, password hashes): that it changed, nothing of it."""
    return "(secret)" if value else ""
