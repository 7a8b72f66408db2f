"""Upstream protocol clients. `client_for(provider)` returns the client of a provider's protocol."""

from upstream.providers.base import client_for

__all__ = ["client_for"]
