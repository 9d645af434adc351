"""Break the glass: who may, with what reason, and what it leaves."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from kangfu.core.models import AuditAction, AuditEntry
from kangfu.rehab.models import EmergencyAccess
from kangfu.rehab.services import emergency
from kangfu.rehab.tests.services.helpers import URGENT

pytestmark = pytest.mark.django_db


class TestEmergencyAccess:
    REASON = URGENT

    def test_a_clinician_gets_four_hours_and_an_audit_row(self, served, doctor):
        grant = emergency.emergency_open(actor=doctor, person=served.person, reason=f"  {self.REASON} ")
        assert (grant.reason, grant.expires_at) == (self.REASON, timezone.now() + dt.timedelta(hours=4))
        entry = AuditEntry.objects.get(object_type="rehab.emergencyaccess", object_id=str(grant.pk))
        assert (entry.action, entry.person_id, entry.actor) == (AuditAction.REVEAL, served.person_id, doctor)

    def test_a_reason_needs_ten_characters(self, served, doctor):
        with pytest.raises(ValidationError) as exc:
            emergency.emergency_open(actor=doctor, person=served.person, reason="  急诊需要查看病史  ")
        assert exc.value.message_dict == {"reason": [emergency.EMERGENCY_REASON]}
        assert not EmergencyAccess.objects.exists()

    def test_civil_affairs_cannot_break_the_glass(self, served, admin):
        with pytest.raises(PermissionDenied) as exc:
            emergency.emergency_open(actor=admin, person=served.person, reason=self.REASON)
        assert str(exc.value) == emergency.EMERGENCY_NOT_CLINICAL
        assert not EmergencyAccess.objects.exists()
