"""Cross-cutting code below every app (accounts <- ... <- reports import it; it imports none of them):
log formatting and masking, request ids, Sentry (docs/logging.md)."""
