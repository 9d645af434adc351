"""The registry of people (一人一档) that every service shares.

Sensitive values (ID numbers, phones) are encrypted columns paired with a blind-index column for
exact search. A person row carries every ancestor of its residence community, so scoping a list to
a jurisdiction is one indexed equality, and large tables can be partitioned by district.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone

from kangfu.core.fields import EncryptedTextField
from kangfu.core.models import Region


class Sex(models.TextChoices):
    MALE = "M", "男"
    FEMALE = "F", "女"


class HukouType(models.TextChoices):
    URBAN = "urban", "城镇（非农业）"
    RURAL = "rural", "农村（农业）"
    RESIDENT = "resident", "居民户口（统一登记）"


class VitalStatus(models.TextChoices):
    """Where the latest life event left the person; kept by the life-event service."""

    NORMAL = "normal", "正常"
    DECEASED = "deceased", "死亡"
    DECLARED_DEAD = "declared_dead", "宣告死亡"
    MISSING = "missing", "失踪"
    IMPRISONED = "imprisoned", "服刑"


def _ancestor() -> models.ForeignKey:
    """A region column derived from the person's community (see `Person.street`)."""
    return models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        editable=False,
        db_constraint=False,
    )


class Person(models.Model):
    """One person known to civil affairs. The ID number is unique (through its blind index)."""

    name = models.CharField("姓名", max_length=50)
    id_number = EncryptedTextField("身份证号")
    id_number_hash = models.CharField(max_length=64, unique=True, editable=False)
    birth_date = models.DateField("出生日期", editable=False)
    sex = models.CharField("性别", max_length=1, choices=Sex.choices, editable=False)
    phone = EncryptedTextField("联系电话", blank=True, default="")
    phone_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    community = models.ForeignKey(
        Region, verbose_name="居住社区", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # The community's ancestors, kept for scoping. The community's key is checked by the database;
    # these are derived from it, so a row-by-row check of each (three of a person's six, 7 µs a row
    # on PostgreSQL) would only repeat it.
    street = _ancestor()
    district = _ancestor()
    city = _ancestor()
    address = models.CharField("居住地址", max_length=200, blank=True)
    hukou_region = models.ForeignKey(
        Region, verbose_name="户籍地", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    hukou_type = models.CharField("户口性质", max_length=10, choices=HukouType.choices, blank=True)
    vital_status = models.CharField(
        "人员状态", max_length=15, choices=VitalStatus.choices, default=VitalStatus.NORMAL, editable=False
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField("登记时间", default=timezone.now, editable=False)
    updated_at = models.DateTimeField("更新时间", default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        verbose_name = verbose_name_plural = "人员"
        indexes = [
            # Scoped lists: filter on one level, newest first, without a sort.
            models.Index(fields=["city", "-id"], name="person_city_id"),
            models.Index(fields=["district", "-id"], name="person_district_id"),
            models.Index(fields=["street", "-id"], name="person_street_id"),
            models.Index(fields=["community", "-id"], name="person_community_id"),
            models.Index(fields=["phone_hash"], name="person_phone_hash"),
            # Prefix search on names; the operator class lets PostgreSQL use it for LIKE 'x%'.
            models.Index(fields=["name"], name="person_name_prefix", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return self.name

    def age_on(self, day: dt.date) -> int:
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


class GuardianRelation(models.TextChoices):
    PARENT = "parent", "父母"
    SPOUSE = "spouse", "配偶"
    CHILD = "child", "子女"
    SIBLING = "sibling", "兄弟姐妹"
    RELATIVE = "relative", "其他亲属"
    OTHER = "other", "其他"


class Guardian(models.Model):
    """A guardian (监护人) or carer (照护人) of a person."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="guardians")
    name = models.CharField("姓名", max_length=50)
    relation = models.CharField("关系", max_length=10, choices=GuardianRelation.choices)
    is_guardian = models.BooleanField("法定监护人", default=True)
    is_carer = models.BooleanField("主要照护人", default=False)
    phone = EncryptedTextField("联系电话", blank=True, default="")
    id_number = EncryptedTextField("身份证号", blank=True, default="")
    id_number_hash = models.CharField(max_length=64, blank=True, default="", db_index=True, editable=False)
    address = models.CharField("地址", max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "监护人和照护人"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name}（{self.get_relation_display()}）"


class DisabilityCategory(models.IntegerChoices):
    VISION = 1, "视力残疾"
    HEARING = 2, "听力残疾"
    SPEECH = 3, "言语残疾"
    PHYSICAL = 4, "肢体残疾"
    INTELLECTUAL = 5, "智力残疾"
    MENTAL = 6, "精神残疾"
    MULTIPLE = 7, "多重残疾"


class DisabilityGrade(models.IntegerChoices):
    ONE = 1, "一级"
    TWO = 2, "二级"
    THREE = 3, "三级"
    FOUR = 4, "四级"


class CertificateStatus(models.TextChoices):
    VALID = "valid", "有效"
    REPLACED = "replaced", "已换发"
    CANCELLED = "cancelled", "已注销"


class DisabilityCertificate(models.Model):
    """A second-generation disability certificate. A grade or category change is a new certificate
    (its number changes), so the rows of one person are the history of their certificates."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="certificates")
    number = EncryptedTextField("残疾人证号")
    number_hash = models.CharField(max_length=64, unique=True, editable=False)
    category = models.PositiveSmallIntegerField("残疾类别", choices=DisabilityCategory.choices)
    grade = models.PositiveSmallIntegerField("残疾等级", choices=DisabilityGrade.choices)
    issued_on = models.DateField("发证日期")
    expires_on = models.DateField("有效期至", null=True, blank=True)
    status = models.CharField(
        "状态", max_length=10, choices=CertificateStatus.choices, default=CertificateStatus.VALID
    )
    status_changed_on = models.DateField("状态变更日期", null=True, blank=True)
    status_reason = models.CharField("变更原因", max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "残疾人证"
        ordering = ["-issued_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=models.Q(status="valid"), name="certificate_one_valid_per_person"
            ),
            models.CheckConstraint(
                condition=models.Q(category__gte=1, category__lte=7), name="certificate_category_1_7"
            ),
            models.CheckConstraint(
                condition=models.Q(grade__gte=1, grade__lte=4), name="certificate_grade_1_4"
            ),
        ]
        indexes = [models.Index(fields=["status", "category", "grade"], name="certificate_status_cat_grade")]

    def __str__(self) -> str:
        return f"{self.get_category_display()}{self.get_grade_display()}"

    def is_expired_on(self, day: dt.date) -> bool:
        return self.expires_on is not None and self.expires_on < day


class IncomeStatus(models.TextChoices):
    DIBAO = "dibao", "低保"
    DIBAO_EDGE = "dibao_edge", "低保边缘"
    TEKUN = "tekun", "特困供养"


class IncomePeriod(models.Model):
    """A period in which a person's family held an income status; open-ended while it lasts."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="income_periods")
    status = models.CharField("收入状况", max_length=12, choices=IncomeStatus.choices)
    start_date = models.DateField("起始日期")
    end_date = models.DateField("终止日期", null=True, blank=True)
    note = models.CharField("备注", max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "收入状况"
        ordering = ["-start_date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True) | models.Q(end_date__gte=models.F("start_date")),
                name="income_period_ends_after_start",
            )
        ]
        indexes = [models.Index(fields=["status", "person", "start_date"], name="income_status_person")]

    def __str__(self) -> str:
        return self.get_status_display()


class LifeEventKind(models.TextChoices):
    DEATH = "death", "死亡"
    DECLARED_DEATH = "declared_death", "宣告死亡"
    MISSING = "missing", "宣告失踪"
    RETURNED = "returned", "撤销失踪/死亡宣告"
    IMPRISONMENT = "imprisonment", "服刑"
    RELEASE = "release", "刑满释放"
    MOVE_OUT = "move_out", "户籍迁出"
    MOVE_IN = "move_in", "户籍迁入"


class LifeEvent(models.Model):
    """A dated event that changes what a person is entitled to (death, prison, household move …)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="life_events")
    kind = models.CharField("事件", max_length=20, choices=LifeEventKind.choices)
    occurred_on = models.DateField("发生日期")
    to_region = models.ForeignKey(
        Region, verbose_name="迁往/迁自", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    document = models.CharField("依据（证明/文书编号）", max_length=100, blank=True)
    note = models.CharField("备注", max_length=200, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        verbose_name = verbose_name_plural = "生活事件"
        ordering = ["-occurred_on", "-id"]
        indexes = [models.Index(fields=["kind", "occurred_on"], name="life_event_kind_date")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_on}"
