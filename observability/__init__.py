"""Cross-cutting code below every app: metrics definitions and the metrics path's access rule
(docs/metrics.md), log formatting and masking, request ids, Sentry (docs/logging.md).

The lowest layer: it may be imported by every app and imports none of them
(tests/test_layers.py). Django and the libraries are fine.
"""
