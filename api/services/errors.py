"""Errors of provider services and bookings; each names one caller-visible case."""

from __future__ import annotations

from api.routing import IdParam
from teezu.errors import BadRequest, Conflict, Forbidden, NotFound, TeezuError


class ServiceError(TeezuError):
    """Root of the services' errors."""


class ServiceNotFound(ServiceError, NotFound):
    code = "SERVICE_NOT_FOUND"


class SlotNotFound(ServiceError, NotFound):
    code = "SLOT_NOT_FOUND"


class PriceNotFound(ServiceError, NotFound):
    code = "PRICE_NOT_FOUND"


class BookingNotFound(ServiceError, NotFound):
    code = "BOOKING_NOT_FOUND"


class NotServiceOwner(ServiceError, Forbidden):
    code = "NOT_SERVICE_OWNER"


class NotBookingParty(ServiceError, Forbidden):
    code = "NOT_BOOKING_PARTY"


class SlotInPast(ServiceError, Conflict):
    code = "SLOT_IN_PAST"


class SlotTaken(ServiceError, Conflict):
    code = "SLOT_TAKEN"


class SlotExists(ServiceError, Conflict):
    code = "SLOT_EXISTS"


class ServiceNotAvailable(ServiceError, Conflict):
    code = "SERVICE_NOT_AVAILABLE"


class BookingStateConflict(ServiceError, Conflict):
    """The booking is not in a state that allows this (meta: state)."""

    code = "BOOKING_STATE_CONFLICT"


class TooEarlyToComplete(ServiceError, Conflict):
    code = "BOOKING_NOT_STARTED"


class OutsideBookedSlot(ServiceError, Conflict):
    """A provider goes live only for an accepted booking, within its slot."""

    code = "OUTSIDE_BOOKED_SLOT"


class SelfBooking(ServiceError, BadRequest):
    status = 422
    code = "CANNOT_BOOK_SELF"


class InvalidSlotTime(ServiceError, BadRequest):
    status = 422
    code = "INVALID_SLOT_TIME"


class InvalidTimeZone(ServiceError, BadRequest):
    status = 422
    code = "INVALID_TIME_ZONE"


SERVICE_ID = IdParam(ServiceNotFound, "no such service", "id")
BOOKING_ID = IdParam(BookingNotFound, "no such booking", "id")
