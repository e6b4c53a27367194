"""A TCP proxy between the app and PostgreSQL that can delay the end of a server's connection.

When PostgreSQL terminates a backend it sends a FATAL message and then closes the socket; a
client that uses the connection in between sees the message but not the close. That window is a
few microseconds in real life, too short to hit on purpose: with ``hold_next_close`` set, the proxy
forwards the message and keeps its side open after the server closed, holding the window open
until the test ends.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

CHUNK = 64 * 1024


@dataclass
class HoldingProxy:
    upstream_host: str
    upstream_port: int
    # Keep the app's side of the next connection the server ends open; later ones (the app's
    # own goodbyes included) close as usual.
    hold_next_close: bool = False
    port: int = 0  # where the app connects, once listening
    # While set, bytes are held back both ways, as in a network partition: nothing is refused or
    # closed, nothing arrives.
    stalled: bool = False
    _flowing: asyncio.Event = field(default_factory=asyncio.Event)
    # Set each time the server ends one of the proxied connections.
    server_closed: asyncio.Event = field(default_factory=asyncio.Event)
    _pumps: set[asyncio.Task[None]] = field(default_factory=set)
    _held: list[asyncio.StreamWriter] = field(default_factory=list)

    async def connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(
            self.upstream_host, self.upstream_port
        )
        for pump in (
            self._pump(reader, upstream_writer, from_server=False),
            self._pump(upstream_reader, writer, from_server=True),
        ):
            task = asyncio.create_task(pump)
            self._pumps.add(task)
            task.add_done_callback(self._pumps.discard)

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, from_server: bool
    ) -> None:
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(CHUNK):
                if self.stalled:
                    await self._flowing.wait()
                writer.write(chunk)
                await writer.drain()
        if from_server:
            self.server_closed.set()
            if self.hold_next_close:
                self.hold_next_close = False
                self._held.append(writer)
                return
        writer.close()

    def stall(self) -> None:
        self.stalled = True
        self._flowing.clear()

    def resume(self) -> None:
        self.stalled = False
        self._flowing.set()

    async def close(self) -> None:
        for writer in self._held:
            writer.close()
        for task in list(self._pumps):
            task.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)


@asynccontextmanager
async def holding_proxy(upstream_host: str, upstream_port: int) -> AsyncIterator[HoldingProxy]:
    """A proxy to ``upstream_host:upstream_port``, listening on ``proxy.port`` of 127.0.0.1."""
    proxy = HoldingProxy(upstream_host, upstream_port)
    server = await asyncio.start_server(proxy.connected, "127.0.0.1", 0)
    proxy.port = server.sockets[0].getsockname()[1]
    try:
        yield proxy
    finally:
        server.close()
        await proxy.close()
        await server.wait_closed()
