"""The chat load of `bench_chat.py`: many Socket.IO clients in rooms, paced acknowledged sends.

One process, one event loop, a minimal Socket.IO v5 / Engine.IO v4 client over aiohttp
WebSockets: a full client library (python-socketio) costs several times more CPU per received
packet, and the load generator must not be what limits the figures. Both servers under test
speak the same wire protocol, so the same client measures both.

Latency is measured end to end: each message's text starts with its send time (``time.time()``
in this process), and each receiver takes the difference on arrival. Sends are acknowledged;
the ack round trip is measured too.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

if __name__ == "__main__":  # run as a script by bench_chat.py: the repository is not on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loadtests import common  # noqa: E402


@dataclass
class RoomPlan:
    stream_id: str
    members: int  # connections that join and read (senders included)
    senders: int


@dataclass
class LoadPlan:
    url: str
    rooms: list[RoomPlan]
    rate: float  # messages per second per sender
    seconds: float  # measured window
    warmup: float
    drain: float = 2.0  # after sending stops, late deliveries are still counted for latency
    text_size: int = 60
    sender_cookies: list[str] = field(default_factory=list)  # one per sender, in order
    connect_concurrency: int = 50


@dataclass
class LoadResult:
    connections: int
    sent: int  # in the measured window
    acked: int
    send_errors: dict[str, int]
    offered_deliveries_per_s: float
    delivered: int  # deliveries received in the measured window
    delivered_per_s: float
    packets_per_s: float  # WebSocket messages carrying chat messages, received per second
    latency_ms: dict[str, float]  # p50 / p90 / p99 / max of deliveries in the window
    ack_ms: dict[str, float]
    missing: int  # deliveries of messages sent (and acked) in the window that never arrived
    generator_cpu: float  # CPU seconds of this process per wall second in the window


def percentiles(values: list[float]) -> dict[str, float]:
    """Seconds in, milliseconds out: p50, p90, p99 and the maximum."""
    return common.percentiles(np.asarray(values, dtype=float) * 1000.0)


class Meter:
    """What every receiver reports into; only the measured window counts."""

    def __init__(self) -> None:
        self.start = float("inf")
        self.end = float("inf")
        self.latencies: list[float] = []
        self.packets = 0
        self.per_message: dict[str, int] = {}  # "sender:seq" -> deliveries (for losses)

    def deliver(self, now: float, texts: list[str]) -> None:
        in_window = self.start <= now < self.end
        if in_window:
            self.packets += 1
        for text in texts:
            stamp, key, _ = text.split(" ", 2)
            sent = float(stamp)
            if in_window:
                self.latencies.append(now - sent)
            if self.start <= sent < self.end:
                self.per_message[key] = self.per_message.get(key, 0) + 1


class _WebSocket(asyncio.Protocol):
    """A WebSocket client at the protocol level: every complete frame in a read is handled in
    one go, without an await per message (aiohttp's client costs several times more CPU per
    small frame, which would make the generator, not the server, the limit)."""

    def __init__(self, on_text: Callable[[str], None]) -> None:
        self.on_text = on_text
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._buf = bytearray()
        self._upgraded = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        pos = 0
        if not self._upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[: buf.find(b"\r\n")])
            if b" 101 " not in status:
                self.opened.set_exception(RuntimeError(f"upgrade refused: {status!r}"))
                return
            self._upgraded = True
            pos = end + 4
            self.opened.set_result(None)
        n = len(buf)
        while n - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length, head = b1 & 0x7F, 2  # server frames are never masked
            if length == 126:
                if n - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if n - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if n - pos < head + length:
                break
            payload = bytes(buf[pos + head : pos + head + length])
            pos += head + length
            opcode = b0 & 0x0F
            if opcode == 1:  # text; both servers send chat packets unfragmented
                self.on_text(payload.decode())
            elif opcode == 9:  # ping
                self._send(0xA, payload)
            elif opcode == 8:  # close
                if self.transport is not None:
                    self.transport.close()
        del buf[:pos]

    def _send(self, opcode: int, payload: bytes) -> None:
        n = len(payload)
        if n < 126:
            head = bytes((0x80 | opcode, 0x80 | n))
        elif n < 65536:
            head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
        else:
            head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
        # A zero masking key leaves the payload as it is; the protocol allows any key, and the
        # proxy-poisoning attack masking defends against needs a browser, not a bench.
        assert self.transport is not None
        self.transport.write(head + b"\x00\x00\x00\x00" + payload)

    def send_text(self, text: str) -> None:
        self._send(0x1, text.encode())

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the upgrade"))
        if not self.closed.done():
            self.closed.set_result(None)


class Client:
    """One Socket.IO connection (namespace ``/``) that counts chat messages it receives."""

    def __init__(self, meter: Meter) -> None:
        self.meter = meter
        self.ws: _WebSocket | None = None
        self._acks: dict[int, asyncio.Future[Any]] = {}
        self._next_id = 0
        self._connected: asyncio.Future[str] | None = None

    async def open(self, url: str, cookie: str | None) -> None:
        parsed = urlsplit(url)
        host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
        loop = asyncio.get_running_loop()
        self._connected = loop.create_future()
        _, ws = await loop.create_connection(lambda: _WebSocket(self._on_text), host, port)
        self.ws = ws
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            + (f"Cookie: {cookie}\r\n" if cookie else "")
            + "\r\n"
        )
        assert ws.transport is not None
        ws.transport.write(request.encode())
        await ws.opened
        connected = await self._connected
        if not connected.startswith("40"):
            raise RuntimeError(f"namespace connect refused: {connected}")

    async def call(self, event: str, data: Any) -> Any:
        assert self.ws is not None
        self._next_id += 1
        ack_id = self._next_id
        future = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = future
        self.ws.send_text(f"42{ack_id}" + json.dumps([event, data], separators=(",", ":")))
        return await future

    def _on_text(self, data: str) -> None:
        if data.startswith("42["):
            now = time.time()
            name, payload = json.loads(data[2:])[:2]
            if name == "chat:messages":  # ours: a batch per room per tick
                self.meter.deliver(now, [m["text"] for m in payload["messages"]])
            elif name == "chat:message":  # the reference: one message per packet
                self.meter.deliver(now, [payload["text"]])
        elif data.startswith("43"):
            i = data.index("[")
            future = self._acks.pop(int(data[2:i]), None)
            if future is not None and not future.done():
                future.set_result(json.loads(data[i:])[0])
        elif data == "2":  # Engine.IO ping
            assert self.ws is not None
            self.ws.send_text("3")
        elif data.startswith("0"):  # Engine.IO open: connect to the namespace
            assert self.ws is not None
            self.ws.send_text("40")
        elif data.startswith("4") and self._connected and not self._connected.done():
            self._connected.set_result(data)  # "40{sid}" or "44{error}"

    async def close(self) -> None:
        if self.ws is not None and self.ws.transport is not None:
            self.ws.transport.close()
        for future in self._acks.values():
            future.cancel()


async def run_load(plan: LoadPlan, on_window: Callable[[str], None] | None = None) -> LoadResult:
    """Connect, join, send for warmup + seconds, drain; ``on_window("start"/"end")`` marks the
    measured window (the parent samples the server's CPU then)."""
    meter = Meter()
    cookies = iter(plan.sender_cookies)
    members: list[tuple[Client, RoomPlan, str | None]] = []
    for room in plan.rooms:
        for i in range(room.members):
            cookie = next(cookies) if i < room.senders else None
            members.append((Client(meter), room, cookie))

    gate = asyncio.Semaphore(plan.connect_concurrency)

    async def enter(client: Client, room: RoomPlan, cookie: str | None) -> None:
        async with gate:
            await client.open(plan.url, cookie)
            ack = await client.call("chat:join", {"streamId": room.stream_id})
            if not ack.get("ok"):
                raise RuntimeError(f"join refused: {ack}")

    await asyncio.gather(*(enter(*m) for m in members))

    sent = acked = 0
    errors: dict[str, int] = {}
    ack_times: list[float] = []
    expected: dict[str, int] = {}  # acked in the window: "sender:seq" -> room size
    begin = time.time() + 0.5
    meter.start = begin + plan.warmup
    meter.end = meter.start + plan.seconds
    padding = "x" * plan.text_size

    async def sender(index: int, client: Client, room: RoomPlan) -> None:
        nonlocal sent, acked
        interval = 1.0 / plan.rate
        at = begin + random.random() * interval  # spread senders over the interval
        pending: set[asyncio.Task[None]] = set()
        seq = 0

        async def one(t: float, key: str) -> None:
            nonlocal acked
            ack = await client.call(
                "chat:send", {"streamId": room.stream_id, "text": f"{t:.6f} {key} {padding}"}
            )
            if meter.start <= t < meter.end:
                if ack.get("ok"):
                    acked += 1
                    ack_times.append(time.time() - t)
                    expected[key] = room.members
                else:
                    code = ack.get("code", "?")
                    errors[code] = errors.get(code, 0) + 1

        while at < meter.end:
            delay = at - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            t = time.time()
            if meter.start <= t < meter.end:
                sent += 1
            seq += 1
            task = asyncio.get_running_loop().create_task(one(t, f"{index}:{seq}"))
            pending.add(task)
            task.add_done_callback(pending.discard)
            at += interval
        if pending:
            await asyncio.wait(pending, timeout=plan.drain + 10)

    cpu0 = None

    async def cpu_probe() -> None:
        nonlocal cpu0
        await asyncio.sleep(max(0.0, meter.start - time.time()))
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        if on_window:
            on_window("start")

    probe = asyncio.get_running_loop().create_task(cpu_probe())
    senders = [
        sender(i, client, room)
        for i, (client, room, cookie) in enumerate(members)
        if cookie is not None
    ]
    end_probe: list[Any] = []

    async def cpu_end() -> None:
        await asyncio.sleep(max(0.0, meter.end - time.time()))
        end_probe.append(resource.getrusage(resource.RUSAGE_SELF))
        if on_window:
            on_window("end")

    ender = asyncio.get_running_loop().create_task(cpu_end())
    await asyncio.gather(*senders)
    await probe
    await ender
    await asyncio.sleep(plan.drain)
    for client, _, _ in members:
        await client.close()

    assert cpu0 is not None and end_probe
    cpu1 = end_probe[0]
    cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    offered = sum(r.members * r.senders for r in plan.rooms) * plan.rate
    # every message acked in the window should have reached every member of its room
    missing = sum(size - meter.per_message.get(key, 0) for key, size in expected.items())
    return LoadResult(
        connections=len(members),
        sent=sent,
        acked=acked,
        send_errors=errors,
        offered_deliveries_per_s=offered,
        delivered=len(meter.latencies),
        delivered_per_s=len(meter.latencies) / plan.seconds,
        packets_per_s=meter.packets / plan.seconds,
        latency_ms=percentiles(meter.latencies),
        ack_ms=percentiles(ack_times),
        missing=missing,
        generator_cpu=cpu / plan.seconds,
    )


def plan_from_json(text: str) -> LoadPlan:
    raw = json.loads(text)
    raw["rooms"] = [RoomPlan(**r) for r in raw["rooms"]]
    return LoadPlan(**raw)


def plan_to_json(plan: LoadPlan) -> str:
    return json.dumps(asdict(plan))


def result_to_dict(result: LoadResult) -> dict[str, Any]:
    return asdict(result)


WINDOW = "@@window "
RESULT = "@@result "


def main() -> None:
    """``python loadtests/chatload.py PLAN.json``: run one load, print markers and the result."""
    plan = plan_from_json(Path(sys.argv[1]).read_text())

    def mark(what: str) -> None:
        print(WINDOW + what, flush=True)

    result = asyncio.run(run_load(plan, on_window=mark))
    print(RESULT + json.dumps(result_to_dict(result)), flush=True)


if __name__ == "__main__":
    main()
