"""The caller's address that per-address rate limits count: the connection's peer,
or, only when that peer is a configured proxy (``APIConfig.trusted_proxies``), the
nearest address in ``X-Forwarded-For`` that is not a trusted proxy.

A server in front of the app may already have put a forwarded address in the peer's
place: uvicorn (which Serve's HTTP proxy runs) does so for requests from loopback.
The peer is then gone; with no proxy configured those requests count as one caller
(as they would under the proxy's own address), so a forged header buys nothing.

Under Serve's HAProxy mode (the default, ``sigmax/serve_proxy.py``) HAProxy appends the
peer it saw to ``X-Forwarded-For`` and connects to the replica from its Ray node's
address; ``serve_haproxy_addresses`` names those addresses, which the replica trusts
besides ``trusted_proxies``. A node that joins after the replica started is not
trusted: its callers count as that node's address (coarser, never forgeable).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Mapping
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
VIA_UNTRUSTED_PROXY = "via-untrusted-proxy"


def networks(proxies: Iterable[str]) -> tuple[Network, ...]:
    """Parse addresses and CIDR ranges (``10.0.0.0/8``, ``::1``); ValueError if invalid."""
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def serve_haproxy_addresses() -> tuple[str, ...]:
    """The Ray nodes' addresses when this process is a replica under Serve's HAProxy
    mode (HAProxy reaches a replica from the node it runs on); () otherwise."""
    if os.environ.get("RAY_SERVE_ENABLE_HA_PROXY") != "1":
        return ()
    import ray

    if not ray.is_initialized():
        return ()
    nodes = ray.nodes()  # type: ignore[no-untyped-call]
    return tuple(sorted({str(node["NodeManagerAddress"]) for node in nodes if node["Alive"]}))


def client_address(scope: Mapping[str, Any], trusted: tuple[Network, ...]) -> str:
    peer = scope.get("client")
    host = str(peer[0]) if peer else "unknown"
    forwarded = _forwarded_for(scope.get("headers", []))
    if not forwarded:
        return host
    if _is_trusted(host, trusted):
        untrusted = [hop for hop in forwarded if not _is_trusted(hop, trusted)]
        return untrusted[-1] if untrusted else host
    if host in forwarded and not trusted:  # the peer was already replaced upstream
        return VIA_UNTRUSTED_PROXY
    return host


def _forwarded_for(headers: Iterable[tuple[bytes, bytes]]) -> list[str]:
    hops: list[str] = []
    for name, value in headers:
        if name.lower() == b"x-forwarded-for":
            hops += [hop.strip() for hop in value.decode("latin-1").split(",") if hop.strip()]
    return hops


def _is_trusted(host: str, trusted: tuple[Network, ...]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in trusted)
