"""Masking secrets out of logged text: the code lives in observability/masking.py (below every app;
gunicorn's master imports it before Django), re-exported here for the apps that import it from
accounts. Nothing of a key is kept (decisions.md: "Log masking")."""

from __future__ import annotations

from observability.masking import (  # noqa: F401 - re-exported
    KEY_PARAMETERS,
    MASK,
    RedactApiKeyFilter,
    redact,
    register_secret,
    scrub,
)


def audit_mask(value: str) -> str:
    """The audit trail's mask for secrets (API keys, password hashes): that it changed, nothing of it."""
    return "(secret)" if value else ""
