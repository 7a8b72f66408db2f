"""Cross-cutting code below every app (metrics definitions, access to the metrics path).

The lowest layer: it may be imported by every app and imports none of them
(tests/test_layers.py). Django and the libraries are fine.
"""
