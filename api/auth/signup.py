"""Who may open an account: the sign-up form (the route and `teezu users create` validate the
same model) and the minimum age. Pure."""

from __future__ import annotations

from datetime import date

from pydantic import EmailStr, Field

from api.schema import Input, NewPassword

MIN_AGE = 18


class SignupBody(Input):
    email: EmailStr
    handle: str = Field(pattern=r"^[A-Za-z0-9_]{3,30}$", description="3-30 of A-Z a-z 0-9 _")
    password: NewPassword
    date_of_birth: date = Field(description="you must be 18 or older")
    referral_code: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9]{6,16}$",
        description="An affiliate's code (a followed referral link counts first)",
    )


def age_on(born: date, today: date) -> int:
    """Whole years between ``born`` and ``today``."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
