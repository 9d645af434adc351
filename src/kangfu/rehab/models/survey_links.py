"""满意度 on a phone: a one-use link a worker gives a service user or a family member. The token is
shown once, when the link is made; only its SHA-256 is kept, so a copy of the database opens nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from kangfu.core.models import Organisation
from kangfu.rehab.models.cases import Case
from kangfu.rehab.models.satisfaction import Respondent, SatisfactionSurvey

USER = settings.AUTH_USER_MODEL


class SurveyLink(models.Model):
    """A link to the survey for one case and respondent, valid until `expires_at` and used at most once."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="survey_links")
    institution = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    respondent = models.CharField("填写人", max_length=10, choices=Respondent.choices)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField("有效期至")
    used_at = models.DateTimeField("填写时间", null=True, blank=True)
    survey = models.OneToOneField(
        SatisfactionSurvey, null=True, blank=True, on_delete=models.PROTECT, related_name="link"
    )
    created_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "满意度问卷链接"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(used_at__isnull=True) | models.Q(survey__isnull=False),
                name="rehab_survey_link_used_has_survey",
            )
        ]

    def __str__(self) -> str:
        return f"满意度链接 {self.case_id} {self.get_respondent_display()}"
