"""The coordinator's SuperLink: Flower's ``flower-superlink`` with every API but the Fleet API closed to others.

    python -m server.superlink [--coordinator-address ADDRESS ...] <flower-superlink arguments>

In Flower 1.41 one HTTPS port serves the Fleet API (``/v1/fleet/``: SuperNodes), the Control API
(``/v1/control/``: ``flwr run``, ``flwr ls``, ``flwr supernode register``) and the Runtime API
(``/v1/runtime/``: SuperExec and the ServerApp), and the open-source distribution has no Control API
authentication (its OIDC account authentication is only in Flower's enterprise edition;
``FLWR_OIDC_ENABLED=1`` exits with "unavailable in this Flower distribution"). So anyone holding
``ca.crt``, which every hospital has, could register a node of their own (bypassing node
authentication), unregister the others, list runs and start one. This launcher runs the same SuperLink
in the same process and adds one ASGI middleware in front of all of Flower's: a request for any path
outside the Fleet API is answered 403 unless it comes from a coordinator address (default: loopback,
so the coordinator runs ``flwr`` on the SuperLink's machine).
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from collections.abc import Iterable

from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from common.logs import configure_console, get_logger

log = get_logger("superlink")

FLEET_PREFIX = "/v1/fleet/"  # the only API hospitals need
LOOPBACK = ("127.0.0.1", "::1")


class CoordinatorOnly:
    """ASGI middleware: the Fleet API is open to every (TLS, node-authenticated) SuperNode; every other
    path (Control, Runtime, API docs) only to the coordinator's own addresses."""

    def __init__(self, app: ASGIApp, coordinator_addresses: Iterable[str] = LOOPBACK) -> None:
        self.app = app
        self.allowed = frozenset(ipaddress.ip_address(a) for a in coordinator_addresses)

    def admits(self, path: str, client_host: str | None) -> bool:
        if path.startswith(FLEET_PREFIX):
            return True
        try:
            address = ipaddress.ip_address(client_host) if client_host is not None else None
        except ValueError:
            return False
        # A dual-stack listener reports an IPv4 peer as ::ffff:a.b.c.d.
        mapped = getattr(address, "ipv4_mapped", None)
        return (mapped or address) in self.allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            host = client[0] if client else None
            if not self.admits(scope["path"], host):
                log.warning("refused %s from %s: only the coordinator may use this API", scope["path"], host)
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})  # policy violation
                else:
                    await PlainTextResponse("Forbidden: only the Fleet API is open to SuperNodes; the Control API "
                                            "is the coordinator's", status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m server.superlink", description=__doc__.split("\n\n")[0],
                                     epilog="Every other argument goes to flower-superlink.")
    parser.add_argument("--coordinator-address", action="append", default=[],
                        help="IP address allowed to use the Control and Runtime APIs (repeatable; default: "
                             "127.0.0.1 and ::1)")
    args, rest = parser.parse_known_args(argv)
    addresses = args.coordinator_address or list(LOOPBACK)
    for address in addresses:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            parser.error(f"--coordinator-address {address!r} is not an IP address")

    from flwr.superlink.cli import flower_superlink

    install(addresses)
    # The SuperLink's own lines are Flower's (a node activated, a key refused, a run started): what the
    # coordinator watches here, so this process shows libraries' INFO lines, which medfed's console holds back elsewhere.
    configure_console(verbose=True)
    log.info("Control and Runtime APIs open to %s only", ", ".join(addresses))
    sys.argv = ["flower-superlink", *rest]
    flower_superlink()


def install(addresses: Iterable[str]) -> None:
    """Put ``CoordinatorOnly`` in front of the middleware of every SuperLink app this process creates."""
    import flwr.superlink.main as superlink_app

    flower_middleware = superlink_app._get_middleware  # Flower has no hook of its own for this
    gate = Middleware(CoordinatorOnly, coordinator_addresses=tuple(addresses))
    superlink_app._get_middleware = lambda: [gate, *flower_middleware()]


if __name__ == "__main__":
    main()
