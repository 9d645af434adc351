"""Vocational placements and their counters."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from kangfu.rehab.models import Placement
from kangfu.rehab.services import placements
from kangfu.rehab.tests import factories as f
from kangfu.rehab.tests.services.helpers import OCTOBER, counter, placement_data

pytestmark = pytest.mark.django_db


class TestPlacements:
    def test_the_end_cannot_precede_the_start(self, served, rehab_worker):
        with pytest.raises(ValidationError) as exc:
            placements.placement_save(
                actor=rehab_worker, case=served, data=placement_data(ends_on=dt.date(2026, 11, 1))
            )
        assert exc.value.message_dict == {"ends_on": [placements.PLACEMENT_DATES]}
        assert not Placement.objects.exists()

    def test_a_negative_subsidy_is_refused(self, served, rehab_worker):
        with pytest.raises(ValidationError) as exc:
            placements.placement_save(
                actor=rehab_worker, case=served, data=placement_data(monthly_subsidy=Decimal("-0.01"))
            )
        assert exc.value.message_dict == {"monthly_subsidy": [placements.NEGATIVE]}

    def test_a_placement_needs_a_listed_employment_type(self, served, rehab_worker):
        with pytest.raises(ValidationError) as exc:
            placements.placement_save(
                actor=rehab_worker, case=served, data=placement_data(employment_type="temp")
            )
        assert exc.value.message_dict == {"employment_type": [placements.PLACEMENT_TYPE]}

    def test_a_placement_is_counted_by_its_type_and_start_month(self, served, rehab_worker, institution):
        placement = placements.placement_save(actor=rehab_worker, case=served, data=placement_data())
        assert (placement.district_id, counter(institution, "placements", "sheltered")) == (f.XIQING, 1)

    def test_correcting_the_start_or_type_moves_the_count(self, served, rehab_worker, institution):
        placement = placements.placement_save(actor=rehab_worker, case=served, data=placement_data())
        placements.placement_save(
            actor=rehab_worker,
            case=served,
            placement=placement,
            data=placement_data(employment_type="supported", starts_on=dt.date(2026, 10, 26)),
        )
        assert counter(institution, "placements", "sheltered") == 0
        assert counter(institution, "placements", "supported", month=OCTOBER) == 1
