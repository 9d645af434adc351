"""Break the glass: emergency access to a record outside one's scope."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from kangfu.people.models import Person

USER = settings.AUTH_USER_MODEL


class EmergencyAccess(models.Model):
    """A clinician opened a record outside their scope in an emergency, stating why. Valid for a few
    hours, audited, and listed to the serving institution."""

    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField("紧急查阅理由", max_length=300)
    opened_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = verbose_name_plural = "紧急查阅"
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["user", "person", "expires_at"], name="rehab_emergency_lookup")]

    def __str__(self) -> str:
        return f"{self.user} → {self.person_id} {self.opened_at:%Y-%m-%d %H:%M}"
