"""TOTP (RFC 6238) for two-factor sign-in. Pure functions around pyotp.

A code is accepted within one time step of the clock on either side, and only if its step is
later than the last step this account used: the same code can never be used twice.
"""

from __future__ import annotations

import pyotp

ISSUER = "TeezU Live"
STEP = 30  # seconds
DRIFT = 1  # steps accepted on each side of now


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (usually from a QR code)."""
    return pyotp.TOTP(secret, interval=STEP).provisioning_uri(name=account, issuer_name=ISSUER)


def code_at(secret: str, when: float) -> str:
    return pyotp.TOTP(secret, interval=STEP).at(int(when))


def matching_step(secret: str, code: str, now: float, last_step: int) -> int | None:
    """The time step ``code`` belongs to if it is valid now and newer than ``last_step``."""
    code = code.strip().replace(" ", "")
    # ASCII digits: '²'.isdigit() is true too (and pyotp would fold it to '2').
    if len(code) != 6 or not (code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret, interval=STEP)
    current = int(now) // STEP
    for step in range(current - DRIFT, current + DRIFT + 1):
        if step > last_step and pyotp.utils.strings_equal(totp.at(step * STEP), code):
            return step
    return None
