"""A TCP proxy for network faults: it forwards 127.0.0.1:<port> to the test server's Unix socket,
and can stall (forward nothing more, close nothing) or cut its connections, at once or right
after a chosen piece of client traffic reaches the server (e.g. the text of a statement, or the
COMMIT of a file's transaction: the server does it, its reply is what gets lost).

    proxy = Proxy(server_url); proxy.start()
    url = proxy.url()                      # the server's database, through the proxy
    proxy.stall_after(b"CREATE TABLE x")   # the next connection sending that stalls after it
    proxy.throttle(200_000)                # or: the server's replies pass at 200 kB/s
    ...
    proxy.stop()

New connections always go through, so pgshift can still reach the server to find out what
happened, as it would after a network blip.
"""
from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo


class Proxy:
    def __init__(self, server_url: str):
        params = conninfo_to_dict(server_url)
        self.params = params
        self.socket_path = str(Path(params["host"]) / f".s.PGSQL.{params.get('port', 5432)}")
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)
        self._server = None
        self._pairs: list[_Pair] = []
        self._trigger: tuple | None = None   # ("stall", marker) or ("cut", marker, replies)
        self.fired = threading.Event()
        self.rate: float | None = None       # bytes a second passed from the server to clients (None: all)

    # -- control (from the test's thread) ------------------------------------------------------

    def start(self) -> Proxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)
        return self

    def url(self, dbname: str | None = None) -> str:
        params = dict(self.params, host="127.0.0.1", port=str(self.port))
        if dbname:
            params["dbname"] = dbname
        return make_conninfo(**params)

    def stall_after(self, marker: bytes) -> None:
        """The connection whose client sends *marker* stalls once that data reached the server."""
        self._trigger = ("stall", marker)

    def cut_after_reply(self, marker: bytes, replies: int = 1) -> None:
        """The connection whose client sends *marker* is cut when the server's *replies*-th reply
        after it comes (the first: to that very statement; the third, after a statement, its
        progress record and its COMMIT: to the COMMIT): the server did the work, the client never
        hears of it."""
        self._trigger = ("cut", marker, replies)

    def throttle(self, bytes_per_second: float | None) -> None:
        """A slow link, not a stalled one: what the server sends reaches the client at this rate
        (the server waits on its client, as it would behind a slow disk or a slow network)."""
        self.rate = bytes_per_second

    def stall_all(self) -> None:
        for pair in list(self._pairs):
            pair.stalled = True

    def stop(self) -> None:
        async def close():
            if self._server is not None:
                self._server.close()
            for pair in list(self._pairs):
                pair.close()
        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    # -- the loop --------------------------------------------------------------------------------

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, client_r, client_w) -> None:
        server_r, server_w = await asyncio.open_unix_connection(self.socket_path)
        pair = _Pair(self, client_w, server_w)
        self._pairs.append(pair)
        await asyncio.gather(pair.pump(client_r, server_w, upstream=True),
                             pair.pump(server_r, client_w, upstream=False), return_exceptions=True)


class _Pair:
    def __init__(self, proxy: Proxy, client_w, server_w):
        self.proxy, self.client_w, self.server_w = proxy, client_w, server_w
        self.stalled = False
        self.cut_on_reply = 0     # the server's replies still to pass before the cut (0: no cut)

    def close(self) -> None:
        for w in (self.client_w, self.server_w):
            try:
                w.close()
            except Exception:  # noqa: BLE001 - already closed
                pass

    async def pump(self, reader, writer, upstream: bool) -> None:
        while True:
            data = await reader.read(65536)
            if not data:
                if not self.stalled:     # a stalled link passes no close either
                    self.close()
                return
            if self.stalled:
                continue                 # swallowed: neither delivered nor refused
            if not upstream and self.cut_on_reply:
                self.cut_on_reply -= 1
                if not self.cut_on_reply:
                    self.proxy.fired.set()
                    self.close()         # the server's reply is lost with the connection
                    return
            if not upstream and self.proxy.rate:
                for at in range(0, len(data), 4096):
                    writer.write(data[at:at + 4096])
                    await writer.drain()
                    await asyncio.sleep(len(data[at:at + 4096]) / self.proxy.rate)
            else:
                writer.write(data)
                await writer.drain()
            trigger = self.proxy._trigger
            if upstream and trigger is not None and trigger[1] in data:
                self.proxy._trigger = None
                if trigger[0] == "stall":
                    self.stalled = True
                    self.proxy.fired.set()
                else:
                    self.cut_on_reply = trigger[2]
