"""The subsidies fixtures (standards, officers of 和平/河西, an eligible applicant), reused: events are
made by those services."""

from kangfu.devices.tests.conftest import centre, clerk, renter, unit, wheelchair  # noqa: F401
from kangfu.subsidies.tests.conftest import (  # noqa: F401
    applicant,
    hexi,
    jiedao,
    quju,
    quju2,
    shequ,
    standards,
)
