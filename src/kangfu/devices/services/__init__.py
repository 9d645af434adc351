"""Every write of the rental business, by concept: catalogue, units, rental requests, fittings, pricing,
rentals and disinfection. One service, one transaction, one audit row. Callers import the module of
the concept (`from kangfu.devices.services import rentals`).

The names below are the ones the go-live import of a centre's former system reuses, so that its bills
and refusals are the counter's own."""

from kangfu.devices.services.common import NOT_A_CENTRE_CLERK
from kangfu.devices.services.pricing import quote
from kangfu.devices.services.rentals import RENTAL_NOT_OPEN, _check_period, _reprice
from kangfu.devices.services.units import MOVE_BUSY, UNIT_NOT_AVAILABLE

__all__ = [
    "MOVE_BUSY",
    "NOT_A_CENTRE_CLERK",
    "RENTAL_NOT_OPEN",
    "UNIT_NOT_AVAILABLE",
    "_check_period",
    "_reprice",
    "quote",
]
