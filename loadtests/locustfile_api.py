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
the users follow each other's handles as they appear).
"""

from __future__ import annotations

import os
import random
import uuid

from locust import HttpUser, between, task

CREATOR = os.environ.get("TEEZU_API_CREATOR", "")
_handles: list[str] = []  # handles signed up by this Locust process, to look up and follow


class Member(HttpUser):
    """A signed-in member using the REST API as the pages do."""

    wait_time = between(0.2, 1.0)

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
        if self.streams:
            self.client.get(f"/api/v1/streams/{random.choice(self.streams)}", name="streams/{id}")

    @task(2)
    def profile(self) -> None:
        self.client.get(f"/api/v1/users/{self._other()}", name="users/{handle}")

    @task(1)
    def follow_and_unfollow(self) -> None:
        other = self._other()
        if other == self.handle:
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
