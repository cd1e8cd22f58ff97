"""Locust users for chat: Socket.IO clients in one busy room and in many small rooms.

Each user connects with python-socketio's client, joins its room (acknowledged), and, if it is
a sender, sends acknowledged messages; Locust records the ack time of every ``chat:send`` and
the send → receipt time of every message a user receives (request type ``deliver``), so the
figures are real round trips, not fire-and-forget.

    # rooms must exist: create streams (teezu streams create) and pass their ids
    TEEZU_CHAT_BUSY_ROOM=<id> TEEZU_CHAT_SMALL_ROOMS=<id>,<id>,... \\
      .venv/bin/locust -f loadtests/locustfile_chat.py --host http://127.0.0.1:8080 \\
      --headless -u 200 -r 50 -t 60s

Senders need a signed-in session: with ``TEEZU_CHAT_SIGNUP=1`` each sender signs up a new
member account (``POST /api/v1/auth/signup``: lift ``TEEZU_AUTH_RATE_LIMIT_REQUESTS`` on the
server for big runs); otherwise ``TEEZU_CHAT_COOKIE`` is sent as the Cookie header (e.g.
``session=...`` from ``/api/v1/auth/login``). ``TEEZU_CHAT_SENDER_SHARE`` (default 0.1) is the
share of users that send, ``TEEZU_CHAT_SEND_WAIT`` (default 1.0) the mean seconds between a
sender's messages. ``TEEZU_CHAT_SENDS=N`` makes a fixed amount of work instead of a duration:
each sender sends N acknowledged messages and waits until it has received them back, and once
every user (``-u``) is done Locust stops, as its ``-t`` limit would (the smoke test runs this).

For comparable figures against the Node reference, use ``loadtests/bench_chat.py``: Locust's
gevent clients cost far more CPU per received packet than the server under test, so on a
2-core machine Locust measures itself first; it is here for exploring by hand (web UI, ramps).
"""

from __future__ import annotations

import os
import random
import time
import uuid

import gevent
import requests
import socketio
from locust import User, between, events, task

BUSY_ROOM = os.environ.get("TEEZU_CHAT_BUSY_ROOM", "")
SMALL_ROOMS = [r for r in os.environ.get("TEEZU_CHAT_SMALL_ROOMS", "").split(",") if r]
SENDER_SHARE = float(os.environ.get("TEEZU_CHAT_SENDER_SHARE", "0.1"))
SEND_WAIT = float(os.environ.get("TEEZU_CHAT_SEND_WAIT", "1.0"))
SENDS = int(os.environ.get("TEEZU_CHAT_SENDS", "0"))  # 0: send until Locust stops the run

_done_users = 0  # users that finished their TEEZU_CHAT_SENDS quota (gevent: one thread)


def _cookie(host: str) -> str:
    if os.environ.get("TEEZU_CHAT_SIGNUP") == "1":
        handle = f"locust_{uuid.uuid4().hex[:12]}"
        res = requests.post(
            f"{host}/api/v1/auth/signup",
            json={
                "email": f"{handle}@locust.example.org",
                "handle": handle,
                "password": "locust password 1",
                "dateOfBirth": "1990-01-01",
            },
            timeout=30,
        )
        res.raise_for_status()
        return f"session={res.cookies['session']}"
    return os.environ.get("TEEZU_CHAT_COOKIE", "")


class ChatUser(User):
    """One Socket.IO connection in one room; some users also send."""

    abstract = True
    wait_time = between(0.5 * SEND_WAIT, 1.5 * SEND_WAIT)

    def room(self) -> str:
        raise NotImplementedError

    def on_start(self) -> None:
        self.stream_id = self.room()
        self.sender = random.random() < SENDER_SHARE
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("chat:messages", self._received)
        self.mine: set[str] = set()  # stamps of every message this user sent
        self.sent: set[str] = set()  # ... and of those acknowledged
        self.received_own: set[str] = set()
        self.finished = False
        started = time.perf_counter()
        try:
            headers = {"Cookie": _cookie(self.host)} if self.sender else {}
            self.sio.connect(self.host, headers=headers, transports=["websocket"])
            ack = self.sio.call("chat:join", {"streamId": self.stream_id}, timeout=10)
            ok = bool(ack and ack.get("ok"))
            exc = None if ok else RuntimeError(f"join refused: {ack}")
        except Exception as e:  # noqa: BLE001 - reported to Locust as a failure
            exc = e
        events.request.fire(
            request_type="socketio",
            name="connect+join",
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=exc,
        )
        if exc is not None:
            self.sender = False
        self._check_done()

    def _check_done(self) -> None:
        """With ``TEEZU_CHAT_SENDS``: this user is done once its quota came back to it; the
        last user done stops the run (from its own greenlet, like Locust's ``-t`` limit)."""
        global _done_users
        if not SENDS or self.finished:
            return
        if self.sender and not (len(self.sent) >= SENDS and self.sent <= self.received_own):
            return
        self.finished = True
        _done_users += 1
        if _done_users >= self.environment.parsed_options.num_users:
            gevent.spawn(self.environment.runner.quit)

    def _received(self, batch: dict) -> None:
        now = time.time()
        for message in batch.get("messages", ()):
            stamp = message["text"].split(" ", 1)[0]
            try:
                sent = float(stamp)
            except ValueError:
                continue  # someone else's message
            if stamp in self.mine:
                self.received_own.add(stamp)
            events.request.fire(
                request_type="deliver",
                name=f"chat:messages ({self.__class__.__name__})",
                response_time=(now - sent) * 1000,
                response_length=len(message["text"]),
                exception=None,
            )
        self._check_done()

    @task
    def send(self) -> None:
        if not self.sender or not self.sio.connected or (SENDS and len(self.sent) >= SENDS):
            return
        started = time.perf_counter()
        stamp = f"{time.time():.6f}"
        text = f"{stamp} locust says hi"
        self.mine.add(stamp)
        exc = None
        try:
            ack = self.sio.call("chat:send", {"streamId": self.stream_id, "text": text}, timeout=10)
            if not ack or not ack.get("ok"):
                exc = RuntimeError(ack.get("code") if ack else "no ack")
        except Exception as e:  # noqa: BLE001 - reported to Locust as a failure
            exc = e
        if exc is None:
            self.sent.add(stamp)
        events.request.fire(
            request_type="socketio",
            name="chat:send (ack)",
            response_time=(time.perf_counter() - started) * 1000,
            response_length=len(text),
            exception=exc,
        )
        self._check_done()

    def on_stop(self) -> None:
        self.sio.disconnect()


class BusyRoomUser(ChatUser):
    """Everybody in one room: the fan-out worst case."""

    weight = 1 if BUSY_ROOM else 0

    def room(self) -> str:
        return BUSY_ROOM


class SmallRoomUser(ChatUser):
    """Spread over many small rooms: many rooms, little fan-out each."""

    weight = 1 if SMALL_ROOMS else 0

    def room(self) -> str:
        return random.choice(SMALL_ROOMS)
