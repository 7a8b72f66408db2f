"""Which URLs an upstream provider may have, and which addresses we may connect to for it.

A provider URL is `http` or `https`, names a host, carries no credentials, and (unless the
setting UPSTREAM_ALLOW_PRIVATE_URLS is on) its host is a public address: not private, loopback,
link-local, multicast, reserved, unspecified or otherwise non-global, in IPv4 or IPv6, including
IPv4 addresses wrapped in IPv6 (`::ffff:127.0.0.1`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) and
names that resolve to any such address (`localhost`, `127.1`, `2130706433`).

The rule is applied twice: `url_check` when a URL is saved (provider_add, the admin form), and
`resolve_public` for every new connection (`upstream/providers/http.py`), because a name can
resolve differently later (DNS rebinding) and rows saved before the rule existed must not be
called. The connection then goes to the very address that was checked.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 500  # Provider.base_url
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SHOWN_CHARS = 80


class RefusedDestination(ValueError):
    """A URL or an address an upstream call may not use; the message is fit for an operator."""


def private_allowed() -> bool:
    return bool(getattr(settings, "UPSTREAM_ALLOW_PRIVATE_URLS", False))


def _shown(text: str) -> str:
    return repr(text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "...")


def address_refusal(address: IPAddress) -> str | None:
    """Why `address` is not a public destination ("loopback", "private", ...), or None if it is."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            reason = address_refusal(embedded)
            return f"{reason} (IPv4 {embedded} inside IPv6)" if reason else None
    for reason in ("unspecified", "loopback", "link_local", "multicast", "reserved", "private"):
        if getattr(address, f"is_{reason}"):
            return reason.replace("_", "-")
    if not address.is_global:
        return "not public"  # e.g. 100.64.0.0/10, shared address space
    return None


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def resolve_public(
    host: str, port: int, *, allowed: tuple = (), note: str = "UPSTREAM_ALLOW_PRIVATE_URLS is off"
) -> list[tuple[int, str]]:
    """Resolve `host` and return its (family, address) pairs, in resolver order, if every one of
    them is public or inside one of the `allowed` networks; raise RefusedDestination naming the
    first that is not (`note` says why in its message). A name resolving to a mix of public and
    private addresses is refused as a whole. socket.gaierror passes through."""
    infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    addresses: list[tuple[int, str]] = []
    for family, _, _, _, sockaddr in infos:
        text = str(sockaddr[0])
        address = _literal(text.split("%", 1)[0])
        if address is not None and any(address in net for net in allowed):
            reason = None
        else:
            reason = "not an IP address" if address is None else address_refusal(address)
        if reason:
            shown = host if text == host else f"{host} ({text})"
            raise RefusedDestination(f"{shown} is a {reason} address ({note})")
        if (family, text) not in addresses:
            addresses.append((family, text))
    if not addresses:
        raise RefusedDestination(f"{host} resolves to no address")
    return addresses


def url_check(url: str, *, resolve: bool = True) -> str:
    """Return `url` stripped if it may be a provider URL; raise RefusedDestination otherwise.

    With `resolve` (saving a URL) a host name is looked up now and every address it resolves to
    must be public; without it (before each call) only the form and literal addresses are
    checked, the connection checks what the name resolves to. The private-address rule is skipped
    when UPSTREAM_ALLOW_PRIVATE_URLS is on; the form rules never are.
    """
    if not isinstance(url, str):
        raise RefusedDestination("the URL must be text")
    url = url.strip()
    if not url:
        raise RefusedDestination("the URL is empty")
    if len(url) > MAX_URL_LENGTH:
        raise RefusedDestination(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(ord(char) < 33 or ord(char) == 127 for char in url):
        raise RefusedDestination(f"the URL contains spaces or control characters: {_shown(url)}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise RefusedDestination(f"not a valid URL: {_shown(url)}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise RefusedDestination(f"not an http(s) URL: {_shown(url)}")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise RefusedDestination("the URL must not contain credentials (user:password@); the API key has its own field")
    host = parts.hostname or ""
    if not host:
        raise RefusedDestination(f"the URL names no host: {_shown(url)}")
    if private_allowed():
        return url
    literal = _literal(host.split("%", 1)[0])
    if literal is not None:
        reason = address_refusal(literal)
        if reason:
            raise RefusedDestination(f"{host} is a {reason} address (UPSTREAM_ALLOW_PRIVATE_URLS is off)")
        return url
    if resolve:
        default_port = 443 if parts.scheme.lower() == "https" else 80
        try:
            resolve_public(host, port or default_port)
        except (socket.gaierror, UnicodeError):
            raise RefusedDestination(f"the host {_shown(host)} does not resolve") from None
    return url
