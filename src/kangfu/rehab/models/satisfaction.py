"""满意度: a short fixed survey of a service user or their family about the service of one institution,
entered by the institution from the paper form. One answer per case, respondent and year, so the
yearly figures per institution count people, not submits.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from kangfu.core.models import Organisation, Region
from kangfu.rehab.models.cases import Case

USER = settings.AUTH_USER_MODEL

# The questions, each answered 1 (很不满意) to 5 (很满意), then the overall judgement.
SATISFACTION_ITEMS: tuple[tuple[str, str], ...] = (
    ("attitude", "工作人员的服务态度"),
    ("content", "服务内容符合自己（家人）的需要"),
    ("schedule", "服务时间和次数的安排"),
    ("environment", "服务场所的环境和设施"),
    ("effect", "参加服务后的康复效果"),
    ("information", "服务内容、权利义务和投诉渠道的告知"),
)
SATISFACTION_SCALE: tuple[tuple[int, str], ...] = (
    (5, "很满意"),
    (4, "满意"),
    (3, "一般"),
    (2, "不满意"),
    (1, "很不满意"),
)
SCORED_FIELDS = (*(code for code, _ in SATISFACTION_ITEMS), "overall")


class Respondent(models.TextChoices):
    USER = "user", "服务对象本人"
    FAMILY = "family", "家属（监护人）"


class SurveyChannel(models.TextChoices):
    PAPER = "paper", "纸质问卷录入"
    PHONE = "phone", "手机填写"


def _score(label: str) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(label, choices=SATISFACTION_SCALE)


class SatisfactionSurvey(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="surveys")
    # The case's institution, kept on the row: the yearly counts group by it without a join.
    institution = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+", db_index=False)
    district = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", db_index=False)
    year = models.PositiveSmallIntegerField("年度")
    respondent = models.CharField("填写人", max_length=10, choices=Respondent.choices)
    channel = models.CharField(
        "方式", max_length=10, choices=SurveyChannel.choices, default=SurveyChannel.PAPER
    )
    filled_on = models.DateField("填写日期")
    attitude = _score(SATISFACTION_ITEMS[0][1])
    content = _score(SATISFACTION_ITEMS[1][1])
    schedule = _score(SATISFACTION_ITEMS[2][1])
    environment = _score(SATISFACTION_ITEMS[3][1])
    effect = _score(SATISFACTION_ITEMS[4][1])
    information = _score(SATISFACTION_ITEMS[5][1])
    overall = _score("总体满意度")
    comment = models.CharField("意见和建议", max_length=500, blank=True)
    by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "满意度调查"
        ordering = ["-filled_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "respondent", "year"], name="rehab_survey_one_per_respondent_year"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    **{f"{name}__gte": 1 for name in SCORED_FIELDS},
                    **{f"{name}__lte": 5 for name in SCORED_FIELDS},
                ),
                name="rehab_survey_scores_1_5",
            ),
        ]
        indexes = [models.Index(fields=["institution", "year"], name="rehab_survey_inst_year")]

    def __str__(self) -> str:
        return f"满意度 {self.filled_on} {self.get_respondent_display()}"
