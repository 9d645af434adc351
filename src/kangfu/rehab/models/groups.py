"""Recurring groups (固定小组): a weekly peer-support group, a social-skills group, with its members and
the meetings it generates ahead. A meeting is only a date in the plan until it is taken: then it is
recorded as an `Activity` through the activity service (attendance, monthly counters, last service),
or cancelled with a reason and counted nowhere. Keeping the plan apart from `Activity` keeps meetings
that have not happened out of every count and list of services delivered.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from kangfu.core.models import Organisation, Region
from kangfu.rehab.models.activities import Activity, ActivityForm
from kangfu.rehab.models.cases import Case
from kangfu.rehab.models.institutions import ServiceType, StaffMember

USER = settings.AUTH_USER_MODEL

WEEKDAYS: tuple[tuple[int, str], ...] = (
    (0, "周一"),
    (1, "周二"),
    (2, "周三"),
    (3, "周四"),
    (4, "周五"),
    (5, "周六"),
    (6, "周日"),
)


class RecurringGroup(models.Model):
    """A group that meets on fixed weekdays at a fixed time between its start and (optional) end date."""

    institution = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    district = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", db_index=False)
    title = models.CharField("小组名称", max_length=100)
    form = models.CharField("形式", max_length=15, choices=ActivityForm.choices)
    service_type = models.CharField("服务类型", max_length=15, choices=ServiceType.choices)
    weekdays = models.JSONField("每周活动日", default=list)  # weekday numbers, Monday 0
    starts_at = models.TimeField("开始时间")
    place = models.CharField("地点", max_length=100, blank=True)
    leader = models.ForeignKey(
        StaffMember, verbose_name="带领人", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    start_on = models.DateField("开始日期")
    end_on = models.DateField("结束日期", null=True, blank=True)
    created_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "固定小组"
        ordering = ["-start_on", "-id"]
        indexes = [models.Index(fields=["institution", "-start_on"], name="rehab_group_inst_start")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_on__isnull=True) | models.Q(end_on__gte=models.F("start_on")),
                name="rehab_group_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def weekday_labels(self) -> str:
        names = dict(WEEKDAYS)
        return "、".join(names[d] for d in sorted(self.weekdays) if d in names)


class GroupMember(models.Model):
    """A case in a group from the day they joined to the day they left (open while still a member)."""

    group = models.ForeignKey(RecurringGroup, on_delete=models.CASCADE, related_name="members")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+")
    joined_on = models.DateField("加入日期")
    left_on = models.DateField("退出日期", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "小组成员"
        ordering = ["joined_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "case"],
                condition=models.Q(left_on__isnull=True),
                name="rehab_group_member_once",
            ),
            models.CheckConstraint(
                condition=models.Q(left_on__isnull=True) | models.Q(left_on__gte=models.F("joined_on")),
                name="rehab_group_member_leaves_after_joining",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.group_id}/{self.case_id}"


class MeetingState(models.TextChoices):
    PLANNED = "planned", "待开展"
    HELD = "held", "已开展"
    CANCELLED = "cancelled", "已取消"


class GroupMeeting(models.Model):
    """One date of a group's plan: planned, held (its activity records who came) or cancelled."""

    group = models.ForeignKey(RecurringGroup, on_delete=models.CASCADE, related_name="meetings")
    meets_on = models.DateField("活动日期")
    state = models.CharField(
        "状态", max_length=10, choices=MeetingState.choices, default=MeetingState.PLANNED
    )
    # Who led this meeting: the group's leader when it was planned, or whoever took it over.
    leader = models.ForeignKey(
        StaffMember, verbose_name="带领人", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    activity = models.OneToOneField(
        Activity, null=True, blank=True, on_delete=models.PROTECT, related_name="group_meeting"
    )
    cancel_reason = models.CharField("取消原因", max_length=200, blank=True)
    done_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = verbose_name_plural = "小组活动安排"
        ordering = ["meets_on", "id"]
        constraints = [
            # The generator may run twice at once or twice a day: the second run adds nothing.
            models.UniqueConstraint(fields=["group", "meets_on"], name="rehab_group_meeting_once"),
            models.CheckConstraint(
                condition=~models.Q(state="held") | models.Q(activity__isnull=False),
                name="rehab_group_meeting_held_has_activity",
            ),
        ]
        indexes = [models.Index(fields=["meets_on", "state"], name="rehab_group_meeting_day")]

    def __str__(self) -> str:
        return f"{self.group} {self.meets_on}"
