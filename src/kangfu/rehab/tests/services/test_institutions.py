"""Institutions' staff and their training."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kangfu.rehab.models import Training
from kangfu.rehab.services import institutions
from kangfu.rehab.tests.services.helpers import TODAY

pytestmark = pytest.mark.django_db


class TestStaff:
    @pytest.mark.parametrize("hours", [Decimal("0"), Decimal("-2")])
    def test_training_hours_must_be_positive(self, institution, rehab_worker, hours):
        staff = institutions.staff_save(
            actor=rehab_worker,
            organisation=institution,
            values={"name": "王社工", "profession": "social_worker"},
        )
        with pytest.raises(ValidationError) as exc:
            institutions.training_add(
                actor=rehab_worker, staff=staff, held_on=TODAY, hours=hours, topic="危机干预"
            )
        assert exc.value.message_dict == {"hours": [institutions.TRAINING_HOURS]}
        assert not Training.objects.exists()

    def test_training_is_recorded_by_the_institution_or_its_district(
        self, institution, rehab_worker, admin, other_worker
    ):
        staff = institutions.staff_save(
            actor=rehab_worker,
            organisation=institution,
            values={"name": "王社工", "profession": "social_worker"},
        )
        institutions.training_add(
            actor=rehab_worker, staff=staff, held_on=TODAY, hours=Decimal("6"), topic="危机干预"
        )
        institutions.training_add(
            actor=admin, staff=staff, held_on=TODAY, hours=Decimal("1.5"), topic="政策培训"
        )
        with pytest.raises(PermissionDenied):
            institutions.training_add(
                actor=other_worker, staff=staff, held_on=TODAY, hours=Decimal("2"), topic="x"
            )
        assert sorted(staff.trainings.values_list("hours", flat=True)) == [Decimal("1.5"), Decimal("6")]
