"""Masking secrets out of text that is logged or sent to Sentry: customers' API keys and upstreams'.

Plain Python, no Django: gunicorn's master imports it before any app is loaded
(`reseller/gunicorn_logging.py`), and every layer may use it (accounts/redaction.py and upstream's
HTTP client re-export it). What is masked (docs/logging.md, "Masking"), nothing of a secret kept:

- a parameter whose name is a key name (`KEY_PARAMETERS`: `api_key`, `userkey`, `token`, `key`,
  `apikey`, ...), case-insensitive: `api_key=<value>` becomes `api_key=***` wherever it appears (a
  request line, a URL, a referer, an exception message, a traceback); also when the name is
  percent-encoded (`api%5Fkey=`, which Django decodes to `api_key`) or sent as a PHP array
  (`api_key[]=`), and in a mapping's repr or JSON (`'token': '...'`, `"api_key":"..."`);
- the credentials of an `Authorization`-style header (`Bearer <token>`, `X-Api-Key: <key>`);
- the password of a URL (`amqp://user:***@host`);
- the secret in an upstream webhook's path (`/upstream/webhook/<id>/***`);
- every secret value this process has registered (`register_secret`: upstream providers' keys,
  registered when a request to the provider is sent), as is or URL-encoded, wherever it appears.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import quote, quote_plus, unquote_plus

MASK = "***"
# Query/form parameter (and mapping key) names whose value is a secret. `key` alone, `token`: the
# e-mail upstreams' (Kopeechka's `token=`) and other handler APIs' spellings.
KEY_PARAMETERS = (
    "api_key",
    "apikey",
    "api-key",
    "userkey",
    "user_key",
    "token",
    "access_token",
    "auth_token",
    "key",
    "secret",
    "password",
)
_MIN_SECRET_LEN = 6  # shorter values (tests' "k") are not scrubbed as bare substrings, only by name
_MAX_SECRETS = 1000  # registered values kept per process (providers' keys: a handful)

_NAMES = "|".join(re.escape(name) for name in sorted(KEY_PARAMETERS, key=len, reverse=True))
# A value runs to the next parameter separator, fragment, whitespace or quote (a repr'd request line).
_VALUE = r"[^&#\s'\"<>]*"
# The name must start the text or follow a character that cannot be part of a name (`routing_key=`
# is not `key=`).
_PARAM = re.compile(r"((?<![A-Za-z0-9_-])(?:" + _NAMES + r")(?:\[[^\]=&#\s'\"]*\])*=)" + _VALUE, re.IGNORECASE)
# Any parameter whose name holds a %XX escape: masked when the decoded name is a key name.
_ENCODED_PARAM = re.compile(r"([^?&;=\s'\"/]*%[0-9A-Fa-f]{2}[^?&;=\s'\"/]*=)(" + _VALUE + ")")
# A mapping's repr or JSON: 'token': 'v', "api_key":"v", "api_key": 'v'.
_MAPPING = re.compile(
    r"""((['"])(?:""" + _NAMES + r""")\2\s*:\s*)(['"])((?:\\.|(?!\3).)*)\3""", re.IGNORECASE | re.DOTALL
)
# Header forms: `Authorization: Token x`, `'Authorization': 'Basic x'`, `X-Api-Key: x`, and a bare
# `Bearer x` anywhere.
_SCHEME = re.compile(r"\b(Bearer)(\s+)[A-Za-z0-9._~+/=-]{4,}", re.IGNORECASE)
_HEADER = re.compile(
    r"((?:Authorization|(?:X-)?Api-?Key|(?:X-)?Auth-?Token|(?:X-)?Access-?Token)['\"]?\s*[:=]\s*['\"]?"
    r"(?:(?:Bearer|Basic|Token)\s+)?)[^\s'\",}]+",
    re.IGNORECASE,
)
# A URL's password: scheme://user:password@host.
_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s'\"]*:)[^@/\s'\"]+(@)", re.IGNORECASE)
# The secret segment of an upstream's webhook URL (reseller/urls.py).
_WEBHOOK = re.compile(r"(/upstream/webhook/\d+/)[^/?#\s'\"]+")
_HEADER_HINTS = ("authorization", "apikey", "api-key", "auth-token", "authtoken", "access-token", "accesstoken")
_HINTS = ("key", "token", "secret", "password", "bearer", "authorization", "webhook", "%", "@")

_secrets: dict[str, None] = {}  # insertion-ordered set of registered values and their encodings
_secrets_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Mask `value` (and its URL-encoded forms) in every log line and Sentry event of this process
    from now on. Values shorter than 6 characters are ignored (they would mask ordinary words)."""
    if not value or len(value) < _MIN_SECRET_LEN or value in _secrets:
        return
    with _secrets_lock:
        for form in (value, quote_plus(value), quote(value, safe="")):
            _secrets[form] = None
        while len(_secrets) > _MAX_SECRETS:
            del _secrets[next(iter(_secrets))]


def registered_secrets() -> tuple[str, ...]:
    return tuple(_secrets)


def scrub(text: str, secret: str) -> str:
    """`text` with every occurrence of `secret` (as is or URL-encoded) replaced by `***`."""
    if secret and len(secret) >= _MIN_SECRET_LEN:
        for form in {secret, quote_plus(secret), quote(secret, safe="")}:
            text = text.replace(form, MASK)
    return text


def _mask_encoded(match: re.Match) -> str:
    name = unquote_plus(match.group(1)[:-1]).partition("[")[0].strip().lower()
    return f"{match.group(1)}{MASK}" if name in KEY_PARAMETERS else match.group(0)


def redact(text: str, secret: str = "") -> str:
    """`text` with every secret this module knows of (see the module doc) and every occurrence of
    `secret` replaced by `***`."""
    if not isinstance(text, str):
        text = str(text)
    lowered = text.lower()
    if any(hint in lowered for hint in _HINTS):
        if "=" in text:
            text = _PARAM.sub(r"\1" + MASK, text)
            if "%" in text:
                text = _ENCODED_PARAM.sub(_mask_encoded, text)
        if ("'" in text or '"' in text) and ":" in text:
            text = _MAPPING.sub(lambda m: f"{m.group(1)}{m.group(3)}{MASK}{m.group(3)}", text)
        if "bearer" in lowered:
            text = _SCHEME.sub(r"\1\2" + MASK, text)
        if any(name in lowered for name in _HEADER_HINTS):
            text = _HEADER.sub(r"\1" + MASK, text)
        if "@" in text and "://" in text:
            text = _USERINFO.sub(r"\1" + MASK + r"\2", text)
        if "webhook" in lowered:
            text = _WEBHOOK.sub(r"\1" + MASK, text)
    for known in tuple(_secrets):
        if known in text:
            text = text.replace(known, MASK)
    return scrub(text, secret)


def redact_data(value, _depth: int = 0):
    """A copy of `value` (dicts, lists, tuples and strings, nested) with every string redacted, and
    every value under a key named like a secret (`api_key`, `token`, `Authorization`...) masked."""
    if isinstance(value, str):
        return redact(value)
    if _depth > 20:
        return value
    if isinstance(value, dict):
        return {
            key: (MASK if _secret_name(key) and value[key] else redact_data(value[key], _depth + 1)) for key in value
        }
    if isinstance(value, list | tuple):
        return type(value)(redact_data(item, _depth + 1) for item in value)
    return value


def _secret_name(name) -> bool:
    if not isinstance(name, str):
        return False
    lowered = name.lower().replace("-", "_")
    return lowered in KEY_PARAMETERS or lowered in ("authorization", "x_api_key", "cookie", "set_cookie")


class RedactApiKeyFilter(logging.Filter):
    """Rewrites a record's message (and its traceback and stack) with every secret masked.

    Installed on every handler of the settings' LOGGING, on gunicorn's loggers and on urllib3's
    loggers (which log full request URLs at DEBUG). Never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is not ours to break; drop its arguments
            message = str(record.msg)
            record.msg, record.args = message, None
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # Formatted here, once, so the traceback (exception messages hold URLs) is masked too;
            # the handler's formatter then reuses exc_text.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
