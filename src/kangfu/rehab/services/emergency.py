"""Break the glass: a clinician's emergency access to a record outside their scope."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from kangfu.core import access, audit
from kangfu.core.models import AuditAction, User
from kangfu.people.models import Person
from kangfu.rehab.models import EmergencyAccess

EMERGENCY_HOURS = 4
EMERGENCY_REASON_MIN = 10
EMERGENCY_REASON = f"请写明紧急查阅的理由（至少 {EMERGENCY_REASON_MIN} 个字）。"
EMERGENCY_NOT_CLINICAL = "只有康复和临床人员能紧急查阅。"


def emergency_open(*, actor: User, person: Person, reason: str) -> EmergencyAccess:
    """A clinician opens a record outside their scope, stating why. Audited and shown to the
    institutions that serve the person."""
    if not access.policy(actor).reads_clinical or access.rehab_home(actor) is None:
        raise PermissionDenied(EMERGENCY_NOT_CLINICAL)
    if len(reason.strip()) < EMERGENCY_REASON_MIN:
        raise ValidationError({"reason": EMERGENCY_REASON})
    with transaction.atomic():
        grant = EmergencyAccess.objects.create(
            user=actor,
            person=person,
            reason=reason.strip()[:300],
            expires_at=timezone.now() + dt.timedelta(hours=EMERGENCY_HOURS),
        )
        audit.record(
            actor=actor,
            action=AuditAction.REVEAL,
            obj=grant,
            person_id=person.pk,
            summary=f"紧急查阅精康档案：{grant.reason}",
        )
    return grant
