"""Upstream providers and the catalogue: filled in by the activation issue."""
