"""The SSRF guard's judgement of addresses, the resolver map, and the policy from Settings."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from commonsfed.config import Settings
from commonsfed.federation.transport import (
    AddressNotAllowed,
    AddressPolicy,
    GuardedResolver,
    guarded_socket_factory,
    is_internal,
    parse_resolve_target,
    user_agent_for,
)

INTERNAL = [
    "127.0.0.1",  # loopback
    "127.255.255.254",
    "10.1.2.3",  # RFC 1918
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # link-local: the cloud metadata service
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",  # unspecified
    "0.1.2.3",  # "this network"
    "224.0.0.1",  # multicast
    "224.0.1.1",  # global-scope multicast, still not a peer
    "240.0.0.1",  # reserved
    "255.255.255.255",  # broadcast
    "192.0.0.8",  # IETF protocol assignments
    "192.0.2.1",  # documentation
    "198.18.0.1",  # benchmarking
    "::1",
    "::",
    "fe80::1",
    "fe80::1%1",  # link-local with a scope
    "fc00::1",  # unique local
    "fd12:3456::1",
    "fec0::1",  # site-local
    "ff02::1",  # multicast
    "2001:db8::1",  # documentation
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",  # IPv4-compatible (deprecated)
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b:1::1",  # local-use NAT64
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
]

PUBLIC = [
    "1.1.1.1",
    "93.184.215.14",
    "8.8.8.8",
    "2a00:1450:4001:80b::200e",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",  # IPv4-mapped public
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8, how an IPv6-only host reaches IPv4 peers
]


class FakeDns(AbstractResolver):
    """Answers every name with the given addresses, as a DNS server under a peer's control."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses
        self.asked: list[tuple[str, int]] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append((host, port))
        return [
            ResolveResult(hostname=host, host=ip, port=port, family=0, proto=0, flags=0)
            for ip in self.addresses
        ]

    async def close(self) -> None:
        pass


# --- is_internal ------------------------------------------------------------------------------


@pytest.mark.parametrize("address", INTERNAL)
def test_is_internal__internal_addresses(address):
    assert is_internal(address)
    assert is_internal(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_is_internal__public_addresses(address):
    assert not is_internal(address)


# --- The resolver map -----------------------------------------------------------------------


def test_parse_resolve_target__ipv4_and_bracketed_ipv6():
    assert parse_resolve_target("127.0.0.1:8081") == (ipaddress.ip_address("127.0.0.1"), 8081)
    assert parse_resolve_target("[::1]:8082") == (ipaddress.ip_address("::1"), 8082)


@pytest.mark.parametrize("target", ["127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "host:80", ""])
def test_parse_resolve_target__malformed_is_refused(target):
    with pytest.raises(ValueError):
        parse_resolve_target(target)


def test_address_policy__bad_map_entry_fails_at_construction():
    with pytest.raises(ValueError, match="must look like"):
        AddressPolicy(allow_internal=True, resolve={"south.test": "nowhere"})


def test_address_policy_mapped__name_any_case_and_name_with_port():
    policy = AddressPolicy(
        allow_internal=True,
        resolve={"south.test": "127.0.0.1:8082", "south.test:8443": "127.0.0.1:9443"},
    )

    assert policy.mapped("South.Test.", 80) == (ipaddress.ip_address("127.0.0.1"), 8082)
    assert policy.mapped("south.test", 8443) == (ipaddress.ip_address("127.0.0.1"), 9443)
    assert policy.mapped("north.test", 80) is None


async def test_guarded_resolver__map_wins_over_dns_and_carries_the_port():
    dns = FakeDns("93.184.215.14")
    resolver = GuardedResolver(
        AddressPolicy(allow_internal=True, resolve={"south.test": "127.0.0.1:8082"}), dns
    )

    [result] = await resolver.resolve("south.test", 80)

    assert (result["hostname"], result["host"], result["port"]) == ("south.test", "127.0.0.1", 8082)
    assert result["family"] == socket.AF_INET
    assert dns.asked == []


async def test_guarded_resolver__internal_answers_are_dropped():
    resolver = GuardedResolver(AddressPolicy(), FakeDns("127.0.0.1", "93.184.215.14", "10.0.0.1"))

    results = await resolver.resolve("mixed.example", 443)

    assert [r["host"] for r in results] == ["93.184.215.14"]


async def test_guarded_resolver__only_internal_answers_is_refused():
    resolver = GuardedResolver(AddressPolicy(), FakeDns("169.254.169.254", "::1"))

    with pytest.raises(
        AddressNotAllowed, match="metadata.example is at 169.254.169.254, ::1, an internal"
    ):
        await resolver.resolve("metadata.example", 80)


async def test_guarded_resolver__map_to_internal_is_refused_without_allow_internal():
    policy = AddressPolicy(resolve={"south.test": "127.0.0.1:8082"})

    with pytest.raises(AddressNotAllowed):
        await GuardedResolver(policy, FakeDns()).resolve("south.test", 80)


async def test_guarded_resolver__dev_policy_keeps_internal_answers():
    resolver = GuardedResolver(AddressPolicy(allow_internal=True), FakeDns("127.0.0.1"))

    assert [r["host"] for r in await resolver.resolve("localhost", 80)] == ["127.0.0.1"]


# --- The policy -----------------------------------------------------------------------------


def test_address_policy__trusted_network_passes_the_rest_of_loopback_does_not():
    policy = AddressPolicy(trusted_networks=(ipaddress.ip_network("127.0.0.2/32"),))

    assert policy.allows(ipaddress.ip_address("127.0.0.2"))
    assert policy.allows(ipaddress.ip_address("::ffff:127.0.0.2"))
    assert not policy.allows(ipaddress.ip_address("127.0.0.1"))
    with pytest.raises(AddressNotAllowed, match="refused: 127.0.0.1 is an internal address"):
        policy.check(ipaddress.ip_address("127.0.0.1"))


def test_guarded_socket_factory__internal_address_gets_no_socket():
    open_socket = guarded_socket_factory(AddressPolicy())
    addr_info = (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", 80))

    with pytest.raises(AddressNotAllowed):
        open_socket(addr_info)


def test_guarded_socket_factory__public_address_gets_a_socket():
    open_socket = guarded_socket_factory(AddressPolicy())
    addr_info = (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("1.1.1.1", 443))

    with open_socket(addr_info) as sock:
        assert sock.family == socket.AF_INET


def test_address_policy_from_settings__dev_allows_internal_and_keeps_the_map():
    settings = Settings(dev=True, resolve={"north.test": "127.0.0.1:8081"})

    policy = AddressPolicy.from_settings(settings)

    assert policy.allow_internal
    assert policy.mapped("north.test", 80) == (ipaddress.ip_address("127.0.0.1"), 8081)
    assert policy.trusted_networks == ()


def test_address_policy_from_settings__production_refuses_internal():
    policy = AddressPolicy.from_settings(Settings(domain="commons.example.org"))

    assert not policy.allow_internal and not policy.resolve and not policy.trusted_networks


def test_user_agent_for__names_the_software_and_the_node():
    settings = Settings(domain="commons.example.org")

    assert user_agent_for(settings) == "commonsfed/0.1.0 (+https://commons.example.org/)"
