"""Doctor check of [smtp] host and port: free to listen on, or already ours."""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator

from gateway.config import Settings
from gateway.health import Finding

# The ident our listener puts in its 220 greeting (gateway/inbound/smtp.py).
OUR_IDENT = "support-gateway"


def _greeting(host: str, port: int) -> str:
    with socket.create_connection((host, port), timeout=3) as conn:
        return conn.recv(512).decode("ascii", "replace").strip()


def check_smtp_listen(settings: Settings) -> Iterator[Finding]:
    """Bind the address for a moment; if it is taken, ask who answers there."""
    host, port = settings.smtp.host, settings.smtp.port
    where = f"{host}:{port}"
    probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind((host, port))
    except OSError as exc:
        yield _taken(where, host, port, exc)
        return
    finally:
        probe.close()
    yield Finding("smtp", True, f"{where} is free for `gateway serve` to listen on")


def _taken(where: str, host: str, port: int, exc: OSError) -> Finding:
    if exc.errno == errno.EACCES:
        return Finding("smtp", False, f"no permission to listen on {where} (ports below 1024 need privileges)",
                       "listen on a port of 1024 or more behind your MTA, or give the service "
                       "AmbientCapabilities=CAP_NET_BIND_SERVICE")
    if exc.errno != errno.EADDRINUSE:
        return Finding("smtp", False, f"cannot listen on {where}: {exc.strerror}",
                       "set [smtp] host to an address of this machine, e.g. 127.0.0.1")
    try:
        greeting = _greeting(host, port)
    except OSError as probe:
        greeting = f"(no greeting: {probe})"
    if OUR_IDENT in greeting:
        return Finding("smtp", True, f"our gateway is listening on {where}")
    return Finding("smtp", False, f"{where} is taken by another program ({greeting[:80]})",
                   "stop that program or set [smtp] port to a free port")
