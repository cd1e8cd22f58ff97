"""Locust users for the REST API: members who sign up, then browse, follow and check wallets.

Each user signs up its own member account (``POST /api/v1/auth/signup``; the session cookie
stays in Locust's HTTP session), then loops over the calls a viewer's pages make: who am I,
live streams, a stream, a profile, follow/unfollow, wallet balance and history. Every
state-changing call sends ``Origin`` (the API refuses cross-site cookie requests).

    .venv/bin/locust -f loadtests/locustfile_api.py --host http://127.0.0.1:8080 \\
      --headless -u 100 -r 20 -t 60s

Sign-up is bcrypt cost 12 by default (about 0.25 s of CPU each) and limited per IP: for a big
run start the server with ``TEEZU_BCRYPT_ROUNDS=4`` and the limits lifted
(``TEEZU_RATE_LIMIT_REQUESTS``, ``TEEZU_AUTH_RATE_LIMIT_REQUESTS``; see ``tests/apinode.py``),
or the run measures bcrypt and 429s. ``TEEZU_API_CREATOR`` names a handle to follow (default:
the users follow each other's handles as they appear). ``TEEZU_API_CALLS=N`` makes a fixed
amount of work instead of a duration: each user stops after N tasks, and the last one to stop
ends the run (the smoke test's way: a short ``-t`` could end before a loaded machine signed a
user up).
"""

from __future__ import annotations

import os
import random
import uuid

import gevent
from locust import HttpUser, between, task
from locust.exception import StopUser

CREATOR = os.environ.get("TEEZU_API_CREATOR", "")
CALLS = int(os.environ.get("TEEZU_API_CALLS", "0"))  # 0: call until Locust stops the run
_handles: list[str] = []  # handles signed up by this Locust process, to look up and follow
_done_users = 0  # users that made their TEEZU_API_CALLS tasks (gevent: one thread)


class Member(HttpUser):
    """A signed-in member using the REST API as the pages do."""

    _pause = between(0.2, 1.0)
    calls = 0

    def wait_time(self) -> float:
        """Called after every task: with ``TEEZU_API_CALLS``, the quota's last task stops this
        user, and the last user to stop ends the run."""
        global _done_users
        self.calls += 1
        if CALLS and self.calls >= CALLS:
            _done_users += 1
            if _done_users >= self.environment.parsed_options.num_users:
                gevent.spawn(self.environment.runner.quit)
            raise StopUser()
        return float(self._pause())

    def on_start(self) -> None:
        self.handle = f"lc_{uuid.uuid4().hex[:16]}"
        self.origin = {"Origin": self.host.rstrip("/")}
        with self.client.post(
            "/api/v1/auth/signup",
            json={
                "email": f"{self.handle}@locust.example.org",
                "handle": self.handle,
                "password": "locust password 1",
                "dateOfBirth": "1990-01-01",
            },
            headers=self.origin,
            name="auth/signup",
            catch_response=True,
        ) as res:
            if res.status_code != 201:
                res.failure(f"signup {res.status_code}: {res.text[:200]}")
        _handles.append(self.handle)
        self.streams: list[str] = []

    def _other(self) -> str:
        if CREATOR:
            return CREATOR
        others = [h for h in _handles if h != self.handle]
        return random.choice(others) if others else self.handle

    @task(3)
    def me(self) -> None:
        self.client.get("/api/v1/auth/me", name="auth/me")

    @task(5)
    def live_streams(self) -> None:
        res = self.client.get("/api/v1/streams?state=live&limit=20", name="streams (live)")
        if res.ok:
            self.streams = [s["id"] for s in res.json().get("data", [])]

    @task(2)
    def one_stream(self) -> None:
        if not self.streams:  # none seen live yet: look (every task makes a request)
            self.live_streams()
        else:
            self.client.get(f"/api/v1/streams/{random.choice(self.streams)}", name="streams/{id}")

    @task(2)
    def profile(self) -> None:
        self.client.get(f"/api/v1/users/{self._other()}", name="users/{handle}")

    @task(1)
    def follow_and_unfollow(self) -> None:
        other = self._other()
        if other == self.handle:  # nobody else yet: look at our own profile instead
            self.profile()
            return
        path = f"/api/v1/users/{other}/follow"
        self.client.post(path, headers=self.origin, name="users/{handle}/follow (POST)")
        self.client.delete(path, headers=self.origin, name="users/{handle}/follow (DELETE)")

    @task(2)
    def wallet(self) -> None:
        self.client.get("/api/v1/wallet/balance", name="wallet/balance")

    @task(1)
    def history(self) -> None:
        self.client.get("/api/v1/wallet/history?limit=20", name="wallet/history")
