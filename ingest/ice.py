"""The ICE side of a WHIP or WHEP session resource: trickled candidates and ICE restarts
(RFC 9725 §4.3), on top of the aioice agent aiortc made for the peer connection.

* Trickle: candidates from a ``PATCH`` go to the agent with aioice's public
  ``add_remote_candidate`` (aioice keeps checking while more candidates may come), and
  ``a=end-of-candidates`` ends them.
* Restart: aiortc has no ICE restart, and aioice no API for one. :func:`restart_agent` restarts
  the agent in place: new local credentials, the peer's new ones, its remote candidates and
  check list emptied. The agent keeps its sockets (RFC 8839 lets a restart reuse candidates)
  and its nominated pair, so media and DTLS go on over the old path until the peer nominates a
  new pair, and nothing above aioice (DTLS, SRTP, aiortc's transports) sees a change. It sets
  private aioice attributes; ``tests/unit/test_ice.py`` pins the aioice version and checks
  each one, and ``tests/e2e/test_whip_interop.py`` restarts a Chromium publisher through it.

The ETag names the ICE session: a new one after each restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import string

import aioice
from aiortc import RTCPeerConnection
from aiortc.rtcicetransport import RTCIceTransport

from ingest.errors import IceRestartUnavailable
from ingest.sdpfrag import IceFragment, render_sdpfrag

log = logging.getLogger(__name__)

_ICE_CHARS = string.ascii_letters + string.digits


def _ice_string(length: int) -> str:
    return "".join(secrets.choice(_ICE_CHARS) for _ in range(length))


def new_etag() -> str:
    """A strong entity-tag for a new ICE session (quoted, as sent in ETag)."""
    return f'"{secrets.token_urlsafe(12)}"'


def restart_agent(agent: aioice.Connection, remote_ufrag: str, remote_pwd: str) -> None:
    """Restart ``agent`` in place with new local credentials and the peer's ``remote_*``.

    The caller then adds the peer's new candidates and runs :func:`pace_checks`.
    """
    for pair in agent._check_list:
        if pair.task is not None:
            pair.task.cancel()
    agent._local_username = _ice_string(8)
    agent._local_password = _ice_string(24)
    agent.remote_username = remote_ufrag
    agent.remote_password = remote_pwd
    # RFC 9725 §4.3.3: the previous remote candidates are discarded.
    agent._remote_candidates = []
    agent._remote_candidates_end = False
    agent._check_list = []
    agent._check_list_done = False
    agent._check_list_state = asyncio.Queue()
    agent._nominating = set()
    # agent._nominated stays: it carries media until the peer nominates a new pair, which
    # replaces it (aioice's check_complete), as do incoming checks with the new credentials.


async def pace_checks(agent: aioice.Connection) -> None:
    """Our ordinary connectivity checks after a restart (what ``connect()`` paces at first).

    Stops once the check list is done or no more candidates are expected; as the controlled
    agent we would also connect on triggered checks alone, these help through the peer's NAT.
    """
    while agent._check_periodic():  # noqa: ASYNC110 (a timer: Ta = 20 ms, RFC 8445 §6.1.4.2)
        await asyncio.sleep(0.02)


def _bundle_tag(sdp: str) -> tuple[str, str, list[str]]:
    """The first m= line of our answer, its mid, and the BUNDLE group's mids."""
    lines = sdp.splitlines()
    bundle: list[str] = []
    for line in lines:
        if line.startswith("a=group:BUNDLE "):
            bundle = line.split()[1:]
    first = next(i for i, line in enumerate(lines) if line.startswith("m="))
    mid = next(
        (line[6:] for line in lines[first + 1 :] if line.startswith("a=mid:")),
        bundle[0] if bundle else "0",
    )
    return lines[first], mid, bundle


class IceSession:
    """Trickle ICE and ICE restarts for one peer connection (BUNDLE: one ICE transport)."""

    def __init__(self, pc: RTCPeerConnection) -> None:
        self.pc = pc
        self.etag = new_etag()
        self.restarts = 0
        self._checks: asyncio.Task[None] | None = None

    def _transport(self, mid: str | None = None) -> RTCIceTransport | None:
        transceivers = self.pc.getTransceivers()
        if mid is not None:
            transceivers = [t for t in transceivers if t.mid == mid]
        for t in transceivers:
            dtls = t.receiver.transport or t.sender.transport
            if dtls is not None:
                return dtls.transport
        return None

    def agent(self, mid: str | None = None) -> aioice.Connection | None:
        """The aioice agent of the m= section ``mid`` (default: the first, BUNDLE's)."""
        transport = self._transport(mid)
        return None if transport is None else transport._connection

    def selected_remote(self) -> aioice.Candidate | None:
        """The remote candidate of the pair carrying media now (None before ICE connects)."""
        agent = self.agent()
        pair = None if agent is None else agent._nominated.get(1)
        return None if pair is None else pair.remote_candidate

    def remote_credentials(self) -> tuple[str | None, str | None]:
        agent = self.agent()
        if agent is None:
            return None, None
        return agent.remote_username, agent.remote_password

    def is_restart(self, fragment: IceFragment) -> bool:
        return fragment.ufrag is not None and (fragment.ufrag, fragment.pwd) != (
            self.remote_credentials()
        )

    async def trickle(self, fragment: IceFragment) -> int:
        """Add the fragment's candidates (and end-of-candidates); returns how many were new.

        Candidates of unknown m= sections, of transports aioice lacks, or after
        end-of-candidates are dropped silently, as RFC 9725 §4.3.2 asks.
        """
        added = 0
        for item in fragment.candidates:
            agent = self.agent(item.mid) or self.agent()
            if agent is None or agent._remote_candidates_end:
                continue
            before = len(agent.remote_candidates)
            await agent.add_remote_candidate(item.candidate)
            added += len(agent.remote_candidates) - before
        if fragment.end_of_candidates:
            seen: set[int] = set()
            for mid in fragment.mids or (None,):
                agent = self.agent(mid) or self.agent()
                if agent is not None and id(agent) not in seen:
                    seen.add(id(agent))
                    with contextlib.suppress(ValueError):  # already ended
                        await agent.add_remote_candidate(None)
        return added

    async def restart(self, fragment: IceFragment) -> str:
        """ICE restart with the fragment's new credentials; returns our answer fragment."""
        assert fragment.ufrag is not None and fragment.pwd is not None
        transports = {id(t.receiver.transport) for t in self.pc.getTransceivers()}
        transport = self._transport()
        if transport is None or len(transports) != 1:
            raise IceRestartUnavailable("an ICE restart needs one BUNDLEd ICE transport")
        if transport.state != "completed":
            raise IceRestartUnavailable(
                "ICE is not connected yet: restart once the first connection is up",
                meta={"iceState": transport.state},
            )
        agent = transport._connection
        restart_agent(agent, fragment.ufrag, fragment.pwd)
        self.etag = new_etag()
        self.restarts += 1
        await self.trickle(fragment)
        if self._checks is not None:
            self._checks.cancel()
        self._checks = asyncio.get_running_loop().create_task(
            pace_checks(agent), name="ice-restart-checks"
        )
        mline, mid, bundle = _bundle_tag(self.pc.localDescription.sdp)
        log.info("ICE restart", extra={"restarts": self.restarts})
        return render_sdpfrag(
            ufrag=agent.local_username,
            pwd=agent.local_password,
            candidates=agent.local_candidates,
            mline=mline,
            mid=mid,
            bundle=bundle,
        )

    def close(self) -> None:
        if self._checks is not None:
            self._checks.cancel()
