"""The HTTP client every outgoing request of the node goes through, with the SSRF guard.

A peer chooses the URLs we fetch (actor ids, key ids, inboxes, redirects), so without a
guard any peer could make the node call its own loopback, the cloud metadata service or
the admin's private network. The guard judges the address actually connected to:

- `GuardedResolver` answers every host-name lookup aiohttp makes (the first request and
  each redirect aiohttp follows), applies the dev/test resolver map, and hands aiohttp
  only the addresses the policy allows;
- aiohttp skips the resolver for IP-literal hosts (`TCPConnector._resolve_host` returns
  the literal as is), so `guarded_socket_factory` checks the address again just before a
  socket is made for it, whatever way it was found.

Both raise `AddressNotAllowed` before any byte leaves the node.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from commonsfed import __version__
from commonsfed.config import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Short on purpose: a slow peer must not hold a worker. `total` bounds a whole request,
# `connect` includes waiting for a pooled connection, `sock_read` is the longest silence.
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=15, connect=5, sock_read=10)

# Ranges the `ipaddress` properties miss, or judge differently across Python versions.
_EXTRA_INTERNAL: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",  # "this network": Linux connects 0.x.y.z to the local host
        "100.64.0.0/10",  # carrier-grade NAT (RFC 6598), not is_private
        "192.0.0.0/24",  # IETF protocol assignments
        "198.18.0.0/15",  # benchmarking
        "240.0.0.0/4",  # reserved, 255.255.255.255 (broadcast) included
        "64:ff9b:1::/48",  # local-use NAT64 (RFC 8215)
        "fec0::/10",  # deprecated site-local, still routed inside some networks
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class TransportError(Exception):
    """An outgoing request failed or was refused; `status` is the peer's HTTP status, if any."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class AddressNotAllowed(TransportError):
    """The request would have reached an internal address; nothing was sent."""


# --- Judging addresses ------------------------------------------------------------------


def is_internal(ip: IPAddress | str) -> bool:
    """True for any address that is not a public unicast address on the internet."""
    address = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    wrapped = _translated_ipv4(address)
    if wrapped is not None:
        return is_internal(wrapped)
    sixtofour = address.sixtofour if isinstance(address, ipaddress.IPv6Address) else None
    if sixtofour is not None and is_internal(sixtofour):
        return True
    return _is_special(address)


def _translated_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped or NAT64 (64:ff9b::/96) address stands for.

    Judged by the IPv4 address alone: ::ffff:0:0/96 counts as private in `ipaddress`,
    which would refuse every mapped public address, and an IPv6-only host behind DNS64
    reaches IPv4-only peers through 64:ff9b::/96.
    """
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _is_special(address: IPAddress) -> bool:
    site_local = isinstance(address, ipaddress.IPv6Address) and address.is_site_local
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
        or site_local
        or not address.is_global
        or any(address in net for net in _EXTRA_INTERNAL)
    )


@functools.lru_cache(maxsize=4096)
def ip_of(text: str) -> IPAddress:
    """An address as text, parsed once: a fan-out connects to the same few addresses
    thousands of times, and ipaddress parses in Python (the values are immutable)."""
    return ipaddress.ip_address(text)


@functools.lru_cache(maxsize=4096)
def parse_resolve_target(target: str) -> tuple[IPAddress, int]:
    """Read a resolver-map target, "127.0.0.1:8081" or "[::1]:8081"; ValueError if malformed."""
    host, sep, port_text = target.strip().rpartition(":")
    if not sep or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"resolve target {target!r} must look like 127.0.0.1:8081")
    return ip_of(host.removeprefix("[").removesuffix("]")), int(port_text)


@dataclass(frozen=True)
class AddressPolicy:
    """Where outgoing requests may connect.

    `allow_internal`: True only in dev/test mode, where peers run on loopback.
    `resolve`: the dev/test resolver map, host name (or "name:port") -> "ip:port"; a request
    for that name connects there while the URL, Host header and signatures keep the name.
    `trusted_networks`: addresses treated as public even though they are internal. For tests
    only: they run a "public" peer on 127.0.0.2 while the rest of loopback stays refused.
    Never set it in production.
    """

    allow_internal: bool = False
    resolve: Mapping[str, str] = field(default_factory=dict, hash=False)
    trusted_networks: tuple[IPNetwork, ...] = ()

    def __post_init__(self) -> None:
        # A bad map entry fails when the node starts, not at its first request.
        for target in self.resolve.values():
            parse_resolve_target(target)

    @classmethod
    def from_settings(cls, settings: Settings) -> AddressPolicy:
        return cls(allow_internal=settings.dev, resolve=dict(settings.resolve))

    @functools.lru_cache(maxsize=4096)  # noqa: B019  (a node has one or two policies)
    def allows(self, ip: IPAddress) -> bool:
        if self.allow_internal or not is_internal(ip):
            return True
        plain = _translated_ipv4(ip) or ip
        return any(plain in net for net in self.trusted_networks)

    def check(self, ip: IPAddress) -> None:
        if not self.allows(ip):
            raise AddressNotAllowed(f"refused: {ip} is an internal address")

    def mapped(self, host: str, port: int) -> tuple[IPAddress, int] | None:
        """Where the resolver map sends `host` (an entry for "name:port" wins over "name")."""
        name = host.rstrip(".").lower()
        target = self.resolve.get(f"{name}:{port}") or self.resolve.get(name)
        return parse_resolve_target(target) if target else None


# --- The guard, as aiohttp hooks ------------------------------------------------------------


class GuardedResolver(AbstractResolver):
    """Resolves like `base`, after the resolver map, keeping only allowed addresses.

    `base` defaults to aiohttp's ThreadedResolver (getaddrinfo, as the system resolves),
    which needs no closing: a TCPConnector never closes a resolver it was handed.
    """

    def __init__(self, policy: AddressPolicy, base: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._base = base or aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        mapped = self._policy.mapped(host, port)
        if mapped is not None:
            found = [_resolve_result(host, *mapped)]
        else:
            found = await self._base.resolve(host, port, family)
        allowed = [r for r in found if self._policy.allows(ip_of(r["host"]))]
        if not allowed:
            shown = ", ".join(sorted({r["host"] for r in found})) or "nothing"
            raise AddressNotAllowed(f"refused: {host} is at {shown}, an internal address")
        return allowed

    async def close(self) -> None:
        await self._base.close()


def _resolve_result(host: str, ip: IPAddress, port: int) -> ResolveResult:
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    return ResolveResult(hostname=host, host=str(ip), port=port, family=family, proto=0, flags=0)


def guarded_socket_factory(policy: AddressPolicy) -> aiohttp.SocketFactoryType:
    """A socket factory that refuses, before the socket exists, an address not allowed.

    This is the check that catches IP-literal URL hosts, which aiohttp never resolves.
    """

    def open_socket(addr_info: aiohttp.AddrInfoType) -> socket.socket:
        family, kind, proto, _canonname, sockaddr = addr_info
        policy.check(ip_of(sockaddr[0]))
        return socket.socket(family=family, type=kind, proto=proto)

    return open_socket


# --- The session ----------------------------------------------------------------------------


# Connections in use at once: more than a delivery batch has hosts (federation.lanes sends
# each host's in turn), so that a fan-out to many hosts never waits for the pool; a host
# gets a few at most, as one slow answer hands its next deliveries to another connection.
CONNECTIONS = 512
CONNECTIONS_PER_HOST = 8
# How long an idle connection is kept for the host's next request (aiohttp's default):
# long enough for the next batch of a fan-out, short enough not to hold thousands of idle
# sockets to peers once it is over.
KEEPALIVE_SECONDS = 15.0


def user_agent_for(settings: Settings) -> str:
    """Like Mastodon's, with a link admins of other servers can follow to reach ours."""
    return f"commonsfed/{__version__} (+{settings.base_url}/)"


def make_client_session(
    policy: AddressPolicy,
    *,
    user_agent: str,
    timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
    resolver: AbstractResolver | None = None,
) -> aiohttp.ClientSession:
    """The node's one ClientSession; call it inside the running loop, close it on shutdown.

    `resolver` replaces the system resolver under the guard (tests use it to pretend DNS).
    """
    connector = aiohttp.TCPConnector(
        resolver=GuardedResolver(policy, resolver),
        socket_factory=guarded_socket_factory(policy),
        limit=CONNECTIONS,
        limit_per_host=CONNECTIONS_PER_HOST,
        keepalive_timeout=KEEPALIVE_SECONDS,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        headers={"User-Agent": user_agent},
        cookie_jar=aiohttp.DummyCookieJar(),  # peers get no state to track us by
        auto_decompress=True,  # aiohttp 3.14 inflates in bounded chunks: caps still hold
        trust_env=False,  # no proxy from the environment may bypass the guard
    )
