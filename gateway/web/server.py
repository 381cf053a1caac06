"""Uvicorn inside the daemon's own event loop: the daemon, not Uvicorn, owns SIGTERM and SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

from gateway.errors import ConfigError

log = logging.getLogger(__name__)


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # The daemon stops us (should_exit) when it is told to stop.


def _listen(host: str, port: int) -> socket.socket:
    """A bound, listening socket; a port in use or a bad address is one line saying what to change."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        raise ConfigError(f"[web] cannot listen on {host}:{port} ({exc.strerror or exc}); set [web] host and port "
                          "(GATEWAY_WEB_PORT) to a free address") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


class WebServer:
    """The survey pages and /healthz on [web] host:port until stop()."""

    def __init__(self, app: ASGIApp, host: str, port: int) -> None:
        self.host = host
        self._socket = _listen(host, port)
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(app, lifespan="off", access_log=False, log_config=None, server_header=False,
                                timeout_graceful_shutdown=5)
        self._server = _EmbeddedServer(config)
        # Uvicorn's own start and stop lines say nothing ours do not; its warnings and errors still show.
        logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]))
        while not self._server.started:
            if self._task.done():
                self._task.result()  # Re-raises why it could not start.
                raise ConfigError(f"[web] the server on {self.host}:{self.port} stopped while starting")
            await asyncio.sleep(0.01)
        log.info("serving survey pages and /healthz on http://%s:%d", self.host, self.port)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task
        self._socket.close()
