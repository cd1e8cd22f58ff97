"""Per-session consent: a stream's performers, their check-ins, and the go-live gate.

`gate` decides (pure) whether a stream may go live; `store` reads and appends; `routes` serves
``/api/v1/streams/{id}/performers`` and ``/consent``; WHIP publish calls `store.ensure_ready`.
"""
