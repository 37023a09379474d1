"""The destination policy (SSRF guard), as pure functions over addresses.

Notifications are configured by users, so a webhook URL could point at the metadata
service (169.254.169.254), the database or anything else on the server's network. Only
public unicast addresses are allowed, unless the installation allows private ones or
lists networks explicitly. IPv6 forms that embed an IPv4 address (mapped, 6to4, Teredo,
NAT64) are judged by the embedded address too.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address
from urllib.parse import urlsplit

from .errors import DestinationRefused
from .settings import DestinationPolicy

IPAddress = IPv4Address | IPv6Address
NAT64 = IPv6Network("64:ff9b::/96")


def embedded_ipv4(address: IPAddress) -> list[IPv4Address]:
    """IPv4 addresses an IPv6 address carries (and would reach through a translator)."""
    if isinstance(address, IPv4Address):
        return []
    found = [address.ipv4_mapped, address.sixtofour]
    if address.teredo is not None:
        found.extend(address.teredo)
    if address in NAT64:
        found.append(IPv4Address(int(address) & 0xFFFFFFFF))
    return [a for a in found if a is not None]


def is_public(address: IPAddress) -> bool:
    """A global unicast address, and every IPv4 address it embeds too."""
    if not address.is_global or address.is_multicast or address.is_reserved or address.is_unspecified:
        return False
    return all(is_public(inner) for inner in embedded_ipv4(address))


def address_allowed(address: IPAddress, policy: DestinationPolicy) -> bool:
    if any(address.version == net.version and address in net for net in policy.allowed_networks):
        return True
    return policy.allow_private_destinations or is_public(address)


def check_addresses(host: str, addresses: Iterable[str], policy: DestinationPolicy) -> None:
    """Refuse the destination if ANY address the host resolves to is forbidden (or none resolved)."""
    resolved = [ip_address(a.split("%", 1)[0]) for a in addresses]
    if not resolved:
        raise DestinationRefused(f"{host} no se resolvió a ninguna dirección")
    refused = sorted({str(a) for a in resolved if not address_allowed(a, policy)})
    if refused:
        raise DestinationRefused(
            f"{host} se resuelve a {', '.join(refused)}, que la política de destinos prohíbe "
            "(privada, loopback, link-local, multicast o reservada)"
        )


def literal_address(host: str) -> IPAddress | None:
    try:
        return ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_url(url: str, policy: DestinationPolicy, *, schemes: tuple[str, ...] = ("https", "http")) -> tuple[str, int]:
    """The (host, port) of a webhook URL, after checking scheme and, for an IP literal, its address."""
    parts = urlsplit(url)
    if parts.scheme not in schemes:
        raise DestinationRefused(f"{url!r}: el esquema {parts.scheme!r} no es {' ni '.join(schemes)}")
    if policy.require_https and parts.scheme == "http":
        raise DestinationRefused(f"{parts.hostname}: los webhooks deben usar https")
    if not parts.hostname:
        raise DestinationRefused(f"{url!r} no tiene host")
    literal = literal_address(parts.hostname)
    if literal is not None:
        check_addresses(parts.hostname, [str(literal)], policy)
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
